"""The course as files: structure of every notebook, the copy command, clean committed outputs.

(The notebooks themselves are executed by nbval: ``python -m pytest notebooks``.)
"""

from __future__ import annotations

import json
import re

import pytest

import tr_notebooks
from tr_notebooks.__main__ import copy_course, main
from tr_notebooks.checkers import CHECKERS

NOTEBOOKS = tr_notebooks.notebook_paths()
RICH = (
    "application/vnd.plotly.v1+json",
    "image/png",
    "text/html",
    "application/vnd.jupyter.widget-view+json",
)


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _code(nb):
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def test_the_course_has_seven_numbered_notebooks():
    assert [p.name[:2] for p in NOTEBOOKS] == ["01", "02", "03", "04", "05", "06", "07"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_starts_with_the_setup_helper(path):
    first = _code(_load(path))[0]
    assert "import tr_notebooks" in first and "tr_notebooks.setup()" in first


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_checked_cells_have_stored_outputs(path):
    nb = _load(path)
    checked = [
        c
        for c in nb["cells"]
        if c["cell_type"] == "code" and "# NBVAL_CHECK_OUTPUT" in "".join(c["source"])
    ]
    assert checked, f"{path.name} has no NBVAL_CHECK_OUTPUT cell"
    for cell in checked:
        assert cell["outputs"], f"{path.name}: a checked cell was saved without its output"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_widget_state_or_figure_noise_is_committed(path):
    nb = _load(path)
    assert "widgets" not in nb["metadata"]
    for cell in nb["cells"]:
        for out in cell.get("outputs", []):
            assert not set(out.get("data", {})) & set(RICH), f"{path.name}: rich output saved"
        assert "execution" not in cell.get("metadata", {})


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_timing_printed_in_a_checked_cell(path):
    for src in _code(_load(path)):
        if "# NBVAL_CHECK_OUTPUT" in src:
            assert "perf_counter" not in src and "tokens_per_s" not in src and "wall_s" not in src


def test_every_checker_is_used_by_some_notebook_exercise():
    used = set()
    for path in NOTEBOOKS:
        for src in _code(_load(path)):
            used.update(re.findall(r"tr_notebooks\.check_(\w+)\(my_", src))
    assert used == set(CHECKERS)


def test_copy_command_copies_every_notebook(tmp_path, capsys):
    assert main([str(tmp_path / "course")]) == 0
    copied = sorted(p.name for p in (tmp_path / "course").glob("*.ipynb"))
    assert copied == [p.name for p in NOTEBOOKS]
    out = capsys.readouterr().out
    assert f"copied {len(NOTEBOOKS)} notebooks" in out and "jupyter lab" in out


def test_copy_command_never_overwrites_silently(tmp_path, capsys):
    copy_course(tmp_path)
    (tmp_path / NOTEBOOKS[0].name).write_text("my edits")
    assert main([str(tmp_path)]) == 1
    assert "--overwrite" in capsys.readouterr().err
    assert (tmp_path / NOTEBOOKS[0].name).read_text() == "my edits"
    assert main([str(tmp_path), "--overwrite"]) == 0
    assert (tmp_path / NOTEBOOKS[0].name).read_text() != "my edits"


def test_setup_reports_smoke_mode_and_sets_the_renderer(monkeypatch):
    import plotly.io as pio

    course = tr_notebooks.setup(seed=3, renderer="plotly_mimetype")
    assert pio.renderers.default == "plotly_mimetype"
    assert course.seed == 3 and course.smoke == tr_notebooks.SMOKE
    assert course.size(full=10, smoke=2) == (2 if course.smoke else 10)
    assert "smoke mode" in repr(course)
