"""``python -m tr_notebooks DEST``: copy the course notebooks to DEST and say how to open them."""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from tr_notebooks import notebook_paths


def copy_course(dest: Path, overwrite: bool = False) -> list[Path]:
    """Copy every course notebook into ``dest`` (created if needed); return the new paths.

    Existing notebooks are kept unless ``overwrite`` (your edits are never lost silently).
    """
    sources = notebook_paths()
    if not sources:
        raise FileNotFoundError("no course notebooks found in this installation of tr_notebooks")
    dest.mkdir(parents=True, exist_ok=True)
    clashes = [dest / s.name for s in sources if (dest / s.name).exists()]
    if clashes and not overwrite:
        names = ", ".join(p.name for p in clashes)
        raise FileExistsError(f"{dest} already holds {names}; pass --overwrite to replace them")
    copied = []
    for src in sources:
        copied.append(Path(shutil.copyfile(src, dest / src.name)))
    return copied


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m tr_notebooks",
        description="Copy the trviz course notebooks to a folder you can write to.",
    )
    parser.add_argument("dest", type=Path, help="folder to copy the notebooks into")
    parser.add_argument("--overwrite", action="store_true", help="replace notebooks already there")
    args = parser.parse_args(argv)
    try:
        copied = copy_course(args.dest, args.overwrite)
    except (FileExistsError, FileNotFoundError) as e:
        print(f"tr_notebooks: {e}", file=sys.stderr)
        return 1
    for path in copied:
        print(f"  {path}")
    print(
        f"copied {len(copied)} notebooks to {args.dest}\nopen them with:\n  jupyter lab {args.dest}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
