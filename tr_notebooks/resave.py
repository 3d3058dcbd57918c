"""Re-execute course notebooks and save them with their pictures and clean, reviewable outputs.

``python -m tr_notebooks.resave [NOTEBOOK ...]`` (default: every course notebook) runs each
notebook top to bottom in full mode (smoke mode off: the sizes a reader gets, and no smoke-mode
banner in the saved file), with the current Python as kernel. In full mode ``course.setup()``
picks plotly's ``"plotly_mimetype+png"`` renderer (kaleido and Chromium present), so every
figure and every ``trviz.Player`` comes with a static PNG beside its interactive output. Then it
cleans what it saves:

- pictures are kept as ``image/png`` only: GitHub and a JupyterLab that has not run the notebook
  show them; running the notebook brings the interactive figure or widget back. nbval never
  compares ``image/png`` (nor does ``--nbval-lax`` compare unchecked cells at all);
- the interactive halves are dropped (plotly JSON, HTML, widget views and the saved widget
  state): they are large, change with every plotly release and make diffs unreadable;
- text outputs (stdout, ``text/plain``) are kept: the ``# NBVAL_CHECK_OUTPUT`` cells are what
  ``pytest --nbval-lax`` compares, and the others show readers what to expect; in cells marked
  ``# NBVAL_IGNORE_OUTPUT`` (timings, machine-dependent numbers) only the pictures are kept;
- execution timing metadata is dropped.

``--smoke`` runs in smoke mode for a quick check of the machinery; the saved files then carry the
smoke-mode banner, which ``tests/test_notebooks_course.py`` refuses in the committed course, so
commit only full-mode saves. Run it through ``scripts/rerun_notebooks.sh`` (shared CPU lock, then
the nbval check), review ``git diff notebooks/`` and commit.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from pathlib import Path

PICTURES = ("image/png",)
KEEP_MIME = ("text/plain", *PICTURES)
CELL_TIMEOUT_S = 1800


def clean(nb) -> None:
    """Keep pictures and text, drop interactive outputs, widget state and timing metadata."""
    nb.metadata.pop("widgets", None)
    for cell in nb.cells:
        cell.metadata.pop("execution", None)
        if cell.cell_type != "code":
            continue
        ignored = "# NBVAL_IGNORE_OUTPUT" in cell.source
        kept = []
        for out in cell.get("outputs", []):
            data = out.get("data")
            if data is None:  # a stream or an error
                if not ignored:
                    kept.append(out)
                continue
            pictures = {k: v for k, v in data.items() if k in PICTURES}
            if pictures:  # a figure or a widget: keep its picture (its text is a placeholder)
                out["data"] = {**pictures, "text/plain": "<picture: run the notebook to interact>"}
            elif set(data) - set(KEEP_MIME) or ignored:
                continue  # an interactive output with no picture, or an ignored text
            out.get("metadata", {}).clear()
            kept.append(out)
        cell.outputs = kept


def kernel_env(smoke: bool) -> dict[str, str]:
    """The environment the notebook kernel starts with: full or smoke mode, offline Hub, and this
    interpreter first on PATH (the venv's kernel)."""
    flag = "true" if smoke else "false"
    return {
        "CI": flag,
        "TR_NOTEBOOKS_SMOKE": flag,
        "HF_HUB_OFFLINE": "1",
        "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ.get("PATH", ""),
    }


def execute(path: Path, smoke: bool = False, timeout: int = CELL_TIMEOUT_S) -> None:
    """Run ``path`` in place (full mode unless ``smoke``), then :func:`clean` it and save."""
    import nbformat
    from nbclient import NotebookClient

    nb = nbformat.read(path, as_version=4)
    os.environ.update(kernel_env(smoke))
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


def failure_line(error: BaseException) -> str:
    """One line saying why a notebook failed: the last line of the kernel's message (nbclient puts
    the exception there, coloured: the colour codes are removed), or the exception's type when
    the message is empty."""
    lines = re.sub(r"\x1b\[[0-9;]*m", "", str(error)).strip().splitlines()
    return lines[-1] if lines else f"{type(error).__name__} (no message)"


def main(argv: list[str] | None = None) -> int:
    from tr_notebooks import notebook_paths

    parser = argparse.ArgumentParser(
        prog="python -m tr_notebooks.resave",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: all course notebooks")
    parser.add_argument("--clean-only", action="store_true", help="clean, do not re-execute")
    parser.add_argument("--smoke", action="store_true", help="run in smoke mode (quick check)")
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
        print(f"executing {path} ({'smoke' if args.smoke else 'full'} mode) ...", flush=True)
        try:
            execute(path, smoke=args.smoke)
        except Exception as e:  # report every notebook, then fail
            print(f"FAILED {path}: {failure_line(e)}", flush=True)
            failed.append(path)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
