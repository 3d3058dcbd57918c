"""The ``trviz`` command line (also ``python -m trviz``): the edge where arguments are parsed
and checked. Each subcommand lives in its own module here, exposing ``register(sub)``; the
library modules hold no argparse."""

from __future__ import annotations

import argparse
import sys
from importlib import import_module

# subcommand -> module with register(subparsers)
COMMANDS = {
    "demo": "trviz.commands.demo",
    "replay": "trviz.commands.replay",
    "bench": "trviz.commands.bench",
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="trviz", description="Token Recycling: decode, see and measure."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for module in COMMANDS.values():
        import_module(module).register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except KeyboardInterrupt:
        print("\ninterrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
