"""Pictures that ship: the notebook re-save keeps a static PNG beside every figure and player,
drops the interactive halves, and what it saves passes nbval (which never compares PNGs)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from tr_notebooks.resave import clean, execute, kernel_env

DATA = Path(__file__).parent / "data"
ROOT = Path(__file__).parent.parent
PNG = "iVBORw0KGgo="  # a PNG's base64 head is enough for clean()


def _code(source: str, outputs: list) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(source)
    cell.outputs = [nbformat.from_dict(o) for o in outputs]
    cell.metadata["execution"] = {"iopub.execute_input": "2026-01-01T00:00:00Z"}
    return cell


def _display(data: dict) -> dict:
    return {"output_type": "display_data", "data": data, "metadata": {"foo": 1}}


def test_clean_keeps_pictures_and_text_drops_interactive_outputs():
    plotly = {"application/vnd.plotly.v1+json": {"data": []}, "image/png": PNG,
              "text/plain": "Figure({...})"}  # fmt: skip
    widget = {"application/vnd.jupyter.widget-view+json": {"model_id": "x"}, "text/plain": "VBox"}
    stream = {"output_type": "stream", "name": "stdout", "text": "MAT 2.10\n"}
    nb = nbformat.v4.new_notebook()
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {}}
    nb.cells = [
        _code("# NBVAL_CHECK_OUTPUT\nprint(x)", [stream]),
        _code("fig", [_display(plotly)]),
        _code("player", [_display({**widget, "image/png": PNG})]),
        _code("bare_widget", [_display(widget)]),
        _code("# NBVAL_IGNORE_OUTPUT\nprint(t); fig", [stream, _display(plotly)]),
    ]
    clean(nb)
    assert "widgets" not in nb.metadata
    outputs = [[dict(o.get("data", {})) or o["text"] for o in c.outputs] for c in nb.cells]
    picture = {"image/png": PNG, "text/plain": "<picture: run the notebook to interact>"}
    assert outputs == [["MAT 2.10\n"], [picture], [picture], [], [picture]]
    assert all("execution" not in c.metadata for c in nb.cells)
    assert all(not o.get("metadata") for c in nb.cells for o in c.outputs if "data" in o)


def test_full_mode_is_the_default_and_names_this_interpreter():
    env = kernel_env(smoke=False)
    assert env["CI"] == "false" and env["TR_NOTEBOOKS_SMOKE"] == "false"
    assert env["PATH"].startswith(str(Path(sys.executable).parent))
    assert kernel_env(smoke=True)["CI"] == "true"


@pytest.mark.browser
@pytest.mark.notebook
def test_a_resaved_notebook_shows_its_pictures_and_passes_nbval(tmp_path, monkeypatch):
    """A course-style notebook on a copy: re-saved in full mode it holds a PNG for the figure and
    for the player, no interactive output, no smoke banner; nbval (as CI runs it) passes."""
    if not shutil.which("chromium") and not Path("/usr/bin/chromium").exists():
        pytest.skip("no chromium: run scripts/setup-test.sh (kaleido renders with it)")
    pytest.importorskip("kaleido", reason="kaleido missing: run scripts/setup-test.sh")
    shutil.copy(DATA / "trace-small.json", tmp_path / "trace.json")
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3",
                                 "language": "python"}  # fmt: skip
    nb.cells = [
        nbformat.v4.new_code_cell("import tr_notebooks\n\ncourse = tr_notebooks.setup()\ncourse"),
        nbformat.v4.new_code_cell("# NBVAL_CHECK_OUTPUT\nimport trviz\n\n"
                                  "trace = trviz.load_trace('trace.json')\nprint(len(trace))"),
        nbformat.v4.new_code_cell("# NBVAL_IGNORE_OUTPUT\ntrviz.step_figure(trace, 24, 'accept')"),
        nbformat.v4.new_code_cell("trviz.Player(trace, step=24)"),
    ]  # fmt: skip
    path = tmp_path / "course.ipynb"
    nbformat.write(nb, path)
    for key in ("CI", "TR_NOTEBOOKS_SMOKE", "PATH"):
        monkeypatch.setenv(key, os.environ.get(key, ""))  # execute() sets them: restore after
    execute(path)
    saved = nbformat.read(path, as_version=4)
    banner, checked, figure, player = (c.outputs for c in saved.cells)
    assert "smoke mode off" in banner[0]["data"]["text/plain"]
    assert checked[0]["text"] == "27\n"
    for outputs in (figure, player):
        (out,) = outputs
        assert set(out["data"]) == {"image/png", "text/plain"}
        assert out["data"]["image/png"].startswith("iVBORw0KGgo")  # a PNG
    assert "widgets" not in saved.metadata
    env = {**os.environ, "CI": "true", "HF_HUB_OFFLINE": "1"}
    env["PATH"] = str(Path(sys.executable).parent) + os.pathsep + env.get("PATH", "")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--rootdir", str(tmp_path),
         "-c", os.devnull, "--nbval-lax", "--nbval-current-env", str(path)],
        capture_output=True, text=True, env=env, cwd=tmp_path,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "4 passed" in result.stdout


def test_a_failure_with_an_empty_message_still_says_what_failed(tmp_path, monkeypatch, capsys):
    """A dead kernel can raise with no message: main() names the notebook and the error's type,
    goes on with the next notebook, and fails at the end; colour codes are stripped."""
    import tr_notebooks.resave as resave

    def execute(path, smoke=False):
        if path.name == "a.ipynb":
            raise RuntimeError("")
        raise ValueError("Traceback...\n\x1b[31mNameError\x1b[39m: name 'x' is not defined\n")

    monkeypatch.setattr(resave, "execute", execute)
    assert resave.main([str(tmp_path / "a.ipynb"), str(tmp_path / "b.ipynb")]) == 1
    out = capsys.readouterr().out
    assert f"FAILED {tmp_path / 'a.ipynb'}: RuntimeError (no message)" in out
    assert f"FAILED {tmp_path / 'b.ipynb'}: NameError: name 'x' is not defined" in out
