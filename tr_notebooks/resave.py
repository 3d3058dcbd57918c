"""Re-execute course notebooks and save them with clean, reviewable outputs.

``python -m tr_notebooks.resave [NOTEBOOK ...]`` (default: every course notebook) runs each
notebook top to bottom in smoke mode (``CI=true``, the mode CI checks them in) with the current
Python as kernel, then cleans what it saves:

- text outputs (stdout, ``text/plain``) are kept: the ``# NBVAL_CHECK_OUTPUT`` cells are what
  ``pytest --nbval-lax`` compares, and the others show readers what to expect;
- figures and widgets are dropped (plotly JSON, PNGs, HTML, widget views) together with the saved
  widget state: they are large, change with every plotly release and make diffs unreadable; they
  appear when you run the notebook;
- the outputs of cells marked ``# NBVAL_IGNORE_OUTPUT`` are dropped: they hold timings and
  figures, which depend on the machine and its load, and nbval does not compare them;
- execution timing metadata is dropped.

Run it after editing a notebook, then review ``git diff notebooks/`` and commit.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

KEEP_MIME = ("text/plain",)
CELL_TIMEOUT_S = 900


def clean(nb) -> None:
    """Drop figure/widget outputs, widget state and timing metadata from a notebook, in place."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        if "# NBVAL_IGNORE_OUTPUT" in cell.source:
            cell.outputs = []
            continue
        kept = []
        for out in cell.get("outputs", []):
            if "data" in out:
                rich = set(out["data"]) - set(KEEP_MIME)
                if rich:  # a figure or widget: its text/plain is only a placeholder repr
                    continue
                out.get("metadata", {}).clear()
            kept.append(out)
        cell.outputs = kept


def execute(path: Path, timeout: int = CELL_TIMEOUT_S) -> None:
    """Run ``path`` in place (smoke mode, current interpreter's kernel), then :func:`clean` it."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ["CI"] = "true"
    # the kernel is the "python3" spec of this environment: put this interpreter first on PATH
    os.environ["PATH"] = str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"]
    client = NotebookClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    try:
        client.execute()
    finally:  # a failing notebook is saved too, with the error, so it can be read and fixed
        clean(nb)
        nbformat.write(nb, path)


def main(argv: list[str] | None = None) -> int:
    from tr_notebooks import notebook_paths

    parser = argparse.ArgumentParser(
        prog="python -m tr_notebooks.resave",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all course notebooks")
    parser.add_argument("--clean-only", action="store_true", help="clean, do not re-execute")
    args = parser.parse_args(argv)
    if args.clean_only:
        import nbformat

        for path in args.notebooks or notebook_paths():
            nb = nbformat.read(path, as_version=4)
            clean(nb)
            nbformat.write(nb, path)
        return 0
    failed = []
    for path in args.notebooks or notebook_paths():
        print(f"executing {path} ...", flush=True)
        try:
            execute(path)
        except Exception as e:  # report every notebook, then fail
            print(f"FAILED {path}: {str(e).strip().splitlines()[-1]}", flush=True)
            failed.append(path)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
