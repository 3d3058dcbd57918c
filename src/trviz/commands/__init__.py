"""The ``trviz`` command line (also ``python -m trviz``): the edge where arguments are parsed
and checked. Each subcommand lives in its own module here, exposing ``register(sub)``; the
library modules hold no argparse. Every command checks all its arguments and files before it
loads a model (:mod:`trviz.commands.args`); :func:`main` turns a user error into one line."""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

from trviz.errors import TrvizError

# a path the user gave that is missing, the wrong kind, or not theirs to read or write
USER_OS_ERRORS = (FileNotFoundError, NotADirectoryError, IsADirectoryError, PermissionError)

# subcommand -> module with register(subparsers)
COMMANDS = {
    "demo": "trviz.commands.demo",
    "replay": "trviz.commands.replay",
    "bench": "trviz.commands.bench",
}


class Parser(argparse.ArgumentParser):
    """argparse whose usage errors are one line: ``trviz demo: error: ...`` and exit status 2."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    from trviz import __version__

    parser = Parser(prog="trviz", description="Token Recycling: decode, see and measure.")
    parser.add_argument("--version", action="version", version=f"trviz {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. A user error (a :class:`~trviz.errors.TrvizError`: a bad argument, file
    or model; a path that does not exist or may not be read) is one line on stderr and exit
    status 2; another system error (OSError) one line and 1; anything else is a bug and keeps
    its traceback."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except (TrvizError, *USER_OS_ERRORS) as e:
        print(f"trviz {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 2
    except OSError as e:  # the system's refusal (a full disk...): not a bug, not a usage error
        print(f"trviz {args.command}: error: {_one_line(e)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


def _one_line(e: Exception) -> str:
    return " ".join(str(e).split()) or type(e).__name__


if __name__ == "__main__":
    sys.exit(main())
