"""The course as files: structure of every notebook, the copy command, clean committed outputs.

(The notebooks themselves are executed by nbval: ``python -m pytest notebooks``.)
"""

from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pytest

import tr_notebooks
from tr_notebooks import published
from tr_notebooks.__main__ import copy_course, main
from tr_notebooks.checkers import CHECKERS, EXERCISES
from trviz.trees import DEFAULT_RATES

ROOT = Path(__file__).resolve().parent.parent

NOTEBOOKS = tr_notebooks.notebook_paths()
RICH = (
    "application/vnd.plotly.v1+json",
    "text/html",
    "application/vnd.jupyter.widget-view+json",
)
# A code cell that draws: a view, the replay, the player, or a plotly figure of its own.
DRAWS = re.compile(r"render\(|animate\(|Player\(|_figure\(|go\.Figure\(")


def _load(path):
    return json.loads(path.read_text(encoding="utf-8"))


def _code(nb):
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]


def _markdown(nb):
    return ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown"]


def _notebook(number):
    return _load(next(p for p in NOTEBOOKS if p.name.startswith(number)))


def _output_of(nb, marker):
    """The stored text output of the code cell containing ``marker``."""
    for cell in nb["cells"]:
        if cell["cell_type"] == "code" and marker in "".join(cell["source"]):
            return "".join("".join(o.get("text", "")) for o in cell["outputs"])
    raise AssertionError(f"no code cell contains {marker!r}")


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
def test_saved_in_full_mode_with_a_picture_for_every_figure(path):
    """The committed course is what a reader gets (scripts/rerun_notebooks.sh): no smoke-mode
    banner, and every cell that draws keeps a PNG, so GitHub shows it without a kernel."""
    nb = _load(path)
    banner = "".join(nb["cells"][1]["outputs"][0]["data"]["text/plain"])
    assert "smoke mode off" in banner, f"{path.name} was saved in smoke mode: {banner}"
    for cell in nb["cells"]:
        src = "".join(cell["source"])
        if cell["cell_type"] == "code" and DRAWS.search(src):
            pngs = [o for o in cell["outputs"] if "image/png" in o.get("data", {})]
            assert pngs, f"{path.name}: a cell that draws was saved without its picture:\n{src}"


@pytest.mark.parametrize(
    ("number", "views"),
    [("03", ['render("tree"']), ("04", ['render("tree"', 'render("mask"']),
     ("05", ["trviz.animate(", "trviz.Player(", "recycling_figure(", "acceptance_figure(",
             "row_story_figure("])],
)  # fmt: skip
def test_the_course_teaches_with_its_views(number, views):
    code = "\n".join(_code(_notebook(number)))
    for view in views:
        assert view in code, f"notebook {number} no longer draws {view}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_no_timing_printed_in_a_checked_cell(path):
    for src in _code(_load(path)):
        if "# NBVAL_CHECK_OUTPUT" in src:
            assert "perf_counter" not in src and "tokens_per_s" not in src and "wall_s" not in src


def test_every_checker_is_used_by_the_notebook_its_exercise_names():
    used = {}
    for path in NOTEBOOKS:
        for src in _code(_load(path)):
            for name in re.findall(r"tr_notebooks\.check_(\w+)\(my_", src):
                used[name] = path.name[:2]
    assert set(used) == set(CHECKERS)
    assert used == {name: ex.notebook for name, ex in EXERCISES.items()}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_opens_with_goals_and_time_and_ends_with_a_summary_and_next_step(path):
    md = _markdown(_load(path))
    assert "**Goals.**" in md[0] and "**Time.**" in md[0], path.name
    assert re.search(r"\*\*Time\.\*\* About \d+ minutes", md[0]), path.name
    assert "## Summary" in md[-1], path.name
    assert "**Next:" in md[-1] or "**Where next.**" in md[-1], path.name


@pytest.mark.parametrize("number", ["05", "06"])
def test_notebooks_05_and_06_have_two_exercises_and_a_prediction_checked_against_a_measurement(
    number,
):
    code = _code(_notebook(number))
    exercises = [n for n, ex in EXERCISES.items() if ex.notebook == number]
    assert len(exercises) >= 2
    assert any("tr_notebooks.compare(" in src and "measured" in src for src in code)


def test_docs_list_the_course_path_with_each_notebook_time_and_the_total():
    text = (ROOT / "docs" / "notebooks.md").read_text(encoding="utf-8")
    total = 0
    for path in NOTEBOOKS:
        minutes = int(re.search(r"About (\d+) minutes", _markdown(_load(path))[0])[1])
        assert re.search(rf"`{path.stem}`[^\n]*\| {minutes} min", text), path.name
        total += minutes
    assert f"{total} minutes" in text
    for name in EXERCISES:
        assert f"check_{name}" in text, name


# ----- the corrected statements: the numbers a notebook quotes are the ones it computes ---------


def test_notebook_03_path_probabilities_are_what_the_rates_give():
    """The prose: [0, 0] (0.117) beats rank 1 (0.101) and rank 2 (0.044); [0, 0, 0] (0.040)
    loses to rank 2. The numbers come from the library's measured rates."""
    r = DEFAULT_RATES
    assert round(r[0] ** 2, 3) == 0.117 and r[0] ** 2 > r[1] > r[2]
    assert round(r[0] ** 3, 3) == 0.040 and r[0] ** 3 < r[2]
    nb = _notebook("03")
    prose = "\n".join(_markdown(nb))
    for quoted in ("0.117", f"{r[1]:.3f}", f"{r[2]:.3f}", "0.040", f"{r[0]:.3f}"):
        assert quoted in prose, quoted
    out = _output_of(nb, "def chance(path)")
    assert "path [0, 0]     0.342 x 0.342         = 0.117" in out
    assert "path [0, 0, 0]  0.342 x 0.342 x 0.342 = 0.040" in out
    assert "path [2]        0.044" in out


def test_quoted_forward_costs_are_the_measured_sweep():
    """Notebooks 01 and 06 quote 1.65x (q=8), 1.90x (q=14) and 4.77x (q=84) in fp32: the sweep
    table in docs/benchmarks.md, as tr_notebooks.published holds it."""
    docs = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")
    header = re.search(r"^\| q \|(.*)\|$", docs, re.M)[1].split("|")
    for dtype, label in (("float32", "fp32"), ("bfloat16", "bf16")):
        row = re.search(rf"^\| {label} \|(.*)\|$", docs, re.M)[1].split("|")
        table = {int(q): float(v) for q, v in zip(header, row)}
        assert table == published.COST[dtype]
    assert published.COST["float32"][8] == 1.65 and published.COST["float32"][84] == 4.77
    text = "\n".join(_markdown(_notebook("01")) + _markdown(_notebook("06")))
    for quoted in ("1.65x", "4.77x", "1.90 at q = 14"):
        assert quoted in text, quoted
    assert "costs little more" not in text and "1.4x one token" not in text


def test_quoted_benchmark_figures_are_the_docs_tables():
    docs = (ROOT / "docs" / "benchmarks.md").read_text(encoding="utf-8")

    def row(method, after):
        section = docs[docs.index(after) :]
        cells = re.search(rf"^\| {re.escape(method)} \|(.*)\|$", section, re.M)[1].split("|")
        return [c.strip() for c in cells]

    for dtype, after in (("float32", "**fp32** (output"), ("bfloat16", "**bf16**:")):
        for method, (speedup, mat) in published.BENCH[dtype].items():
            cells = row(method, after)  # MT..Code, MAT, tok/s, speedup, ...
            assert float(cells[7]) == mat and cells[9] == f"{speedup:.2f}x", (dtype, method)
    for method, (_, mat, speedup) in published.ABLATION.items():
        cells = row(method, "### Drafter ablations")
        assert float(cells[7]) == mat and cells[9] == f"{speedup:.2f}x", method
    for quoted in ("2.70", "2.03x", "1.53x", "1.40x"):  # the paper's and Spec-Bench's, as cited
        assert quoted in docs


def test_notebook_06_states_the_cost_model_and_cites_every_gpu_number():
    nb = _notebook("06")
    prose = "\n".join(_markdown(nb))
    assert "MAT × t_1 / (t_q + overhead)" in prose
    assert "MAT minus the cost" not in prose and "minus a little" not in prose
    assert "Spec-Bench" in prose and "Table 1" in prose
    out = _output_of(nb, "published.PAPER_TABLE1")
    assert "Recycling (RTX 3090)" in out and "overall 1.40x" in out
    assert f"source: {published.SPEC_BENCH}" in out and f"source: {published.PAPER}" in out
    assert math.isclose(published.PAPER_TABLE1["Vicuna-7B"]["MAT"], 2.70)


def test_de_duplication_means_one_thing_everywhere():
    for path in NOTEBOOKS:
        text = "\n".join(_markdown(_load(path)) + _code(_load(path)))
        assert "sibling de-duplication" not in text, path.name
    defining = "\n".join(_markdown(_notebook("02")))
    assert "`dedupe=True` (*de-duplication*)" in defining


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


def test_readme_quotes_the_rank_shares_the_library_measured():
    """The README's "the row read holds the true next token only N% of the time (rank 0: M%)" is
    trviz.trees.DEFAULT_RATES (benchmarks/tree_mat.py), as notebook 03 prints it."""
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    quoted = re.search(r"true next token only (\d+)% of the\s+time \(rank 0: (\d+)%", readme)
    assert quoted, "the README no longer quotes the rank shares: update this test"
    assert int(quoted[1]) == round(100 * sum(DEFAULT_RATES))
    assert int(quoted[2]) == round(100 * DEFAULT_RATES[0])
    assert f"Rank 0 is right about a third of the time ({DEFAULT_RATES[0]:.3f})" in "\n".join(
        _markdown(_notebook("03"))
    )
