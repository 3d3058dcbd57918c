"""Views: structure on the hand-drawn trace, determinism, snapshots of the real fixtures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest
from snapshots.check import figure_json, matches
from test_trace import hand_trace

import trviz
from trviz.animation import select_steps
from trviz.views import VIEWS
from trviz.views._panel import COLORS
from trviz.views.generated import place_tokens
from trviz.views.mask import mask_cells
from trviz.views.tree import tree_layout

DATA = Path(__file__).parent / "data"


def fixture(name: str) -> trviz.Trace:
    return trviz.load_trace(DATA / f"trace-{name}.json")


def test_tree_layout_puts_parents_between_children():
    #   0 ─┬─ 1 ─── 3      leaves 3, 2 get slots 0, 1; node 1 sits over 3; root between
    #      └─ 2
    assert tree_layout((-1, 0, 0, 1)) == ((0.0, 0.5), (1.0, 0.0), (1.0, 1.0), (2.0, 0.0))


def test_tree_figure_highlights_accepted_path_and_bonus():
    fig = trviz.tree_figure(hand_trace(), 0)
    edges, path, bonus_edge, nodes, bonus = fig.data
    assert list(nodes.text) == ["␣the", "␣cat", "␣dog", "␣sat"]
    colors = list(nodes.marker.color)
    assert colors[1] == colors[3] == COLORS["accepted"]
    assert colors[2] == COLORS["rejected"] and colors[0] == COLORS["root"]
    assert list(path.x) == [0.0, 1.0, 2.0]  # root -> cat -> sat
    assert list(bonus.text) == ["␣on"] and bonus.x[0] == 3.0  # the bonus column
    assert "from row '␣the' column 1" in nodes.hovertext[2]
    assert "rank 1" in nodes.hovertext[2] and "depth 1" in nodes.hovertext[2]


def test_matrix_figure_marks_changed_cells_old_to_new():
    fig = trviz.matrix_figure(hand_trace(), 0, max_rows=4)
    heat = fig.data[0]
    # rows: the accepted path's rows that were touched first (the, cat, sat), then padding
    assert list(fig.layout.yaxis.ticktext[:3]) == ["✓ ␣the", "✓ ␣cat", "✓ ␣sat"]
    assert list(heat.z[0]) == [1, 3]  # ' the': col 0 drafted, col 1 drafted and rewritten
    assert heat.text[0][1] == "␣dog<br>→↵"
    assert list(heat.z[2]) == [2, 2]  # ' sat': only rewritten
    assert list(heat.z[3]) == [None, None]  # padding keeps the height fixed


def test_mask_is_tree_attention_not_triangular():
    z = mask_cells((-1, 0, 0, 1), (0, 1, 3))
    assert z == [[2, 0, 0, 0], [2, 2, 0, 0], [1, 0, 1, 0], [2, 2, 0, 2]]
    fig = trviz.mask_figure(hand_trace(), 0)
    assert list(fig.data[0].x) == list(fig.data[0].y) == ["0 ␣the", "1 ␣cat", "2 ␣dog", "3 ␣sat"]


def test_text_figure_colours_drafts_and_bonus():
    trace = hand_trace()
    placed = place_tokens(trace)
    assert [(p.label, p.step, p.kind) for p in placed] == [
        ("␣cat", 0, "draft"), ("␣sat", 0, "draft"), ("␣on", 0, "bonus"), (".", 1, "bonus"),
    ]  # fmt: skip
    fig = trviz.text_figure(trace, upto=0)
    assert list(fig.data[-1].text) == ["␣cat", "␣sat", "␣on", ""]  # step 1 not yet written


def test_stats_figures():
    trace = hand_trace()
    acc = trviz.accepted_figure(trace)
    assert list(acc.data[0].y) == [2, 0] and list(acc.data[1].y) == [1, 1]
    assert list(acc.data[2].y) == [1, 0, 1]  # histogram over accepted lengths 0, 1, 2
    assert list(trviz.mat_figure(trace).data[0].y) == [3.0, 2.0]
    speed = trviz.speed_figure(trace, greedy=20.0)
    assert speed.data[0].y[-1] == 4 and "vs greedy 20.0 tok/s" in speed.layout.title.text
    bare = trviz.Trace(trace.meta, [trviz.StepRecord(0, 10, 5, (), 13, (13,), {})])
    with pytest.raises(ValueError, match="no per-step timings"):
        trviz.speed_figure(bare)


def test_views_are_deterministic_and_uid_free():
    trace = fixture("paper")
    step = trace.steps[5].step
    for name, view in VIEWS.items():
        args = (trace, step) if name in ("tree", "matrix", "mask") else (trace,)
        a, b = view(*args).to_json(), view(*args).to_json()
        assert a == b, name
        assert '"uid"' not in a, name


def test_select_steps_window_stride_and_cap():
    trace = fixture("small")
    n = len(trace)
    assert select_steps(trace) == list(range(n))
    assert select_steps(trace, slice(3, 6)) == [3, 4, 5]
    assert select_steps(trace, range(0, n, 4)) == list(range(0, n, 4))
    capped = select_steps(trace, max_frames=5)
    assert len(capped) <= 5 and capped[0] == 0
    with pytest.raises(ValueError, match="none of the requested steps"):
        select_steps(trace, [10_000])


def test_animate_one_frame_per_step_with_controls():
    trace = fixture("small")
    fig = trviz.animate(trace)
    assert isinstance(fig, go.Figure)
    assert [f.name for f in fig.frames] == [str(s.step) for s in trace]
    assert all(len(f.data) == len(fig.data) for f in fig.frames)  # traces line up
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["▶ Play", "❚❚ Pause"]
    assert [s.label for s in fig.layout.sliders[0].steps] == [f.name for f in fig.frames]
    # fixed axes: every frame gives the tree the same ranges
    ranges = {tuple(f.layout.xaxis.range) for f in fig.frames}
    assert len(ranges) == 1
    window = trviz.animate(trace, steps=slice(2, 5))
    assert [f.name for f in window.frames] == ["2", "3", "4"]


def test_animate_refuses_summary_traces():
    trace = hand_trace()
    bare = trviz.Trace(trace.meta, [trviz.StepRecord(0, 10, 5, (), 13, (13,), {})])
    with pytest.raises(ValueError, match="record='full'"):
        trviz.animate(bare)


@pytest.mark.parametrize("view", ["tree", "matrix", "mask"])
def test_step_view_snapshots(view):
    trace = fixture("paper")
    step = trace.steps[len(trace) // 2].step
    matches(f"fig-{view}-paper.json", figure_json(VIEWS[view](trace, step)))


@pytest.mark.parametrize("view", ["text", "accepted", "mat", "speed"])
def test_run_view_snapshots(view):
    matches(f"fig-{view}-small.json", figure_json(VIEWS[view](fixture("small"))))


def test_animate_snapshot():
    fig = trviz.animate(fixture("small"), steps=slice(0, 3))
    matches("fig-animate-small.json", figure_json(fig))


class _Points:
    def __init__(self, inds):
        self.point_inds = inds


def test_player_follows_slider_panel_and_hover():
    trace = fixture("paper")
    player = trviz.Player(trace)
    assert player.figure.layout.title.text.startswith("draft tree · step 0 ")
    player.slider.value = 7
    assert player.figure.layout.title.text.startswith("draft tree · step 7 ")
    assert "step 7" in player.summary.value
    # hover a tree node -> the history of the matrix row of that node's token
    rec = trace.by_step(7)
    player._on_tree_hover(None, _Points([1]), None)
    assert f"(id {rec.tokens[1]})" in player.history.value
    assert "<td>7</td><td>read</td>" in player.history.value
    player.panel.value = "matrix"
    assert player.figure.data[0].type == "heatmap"
    player._on_matrix_hover(None, _Points([[0, 3]]), None)  # heatmap points are [row, col]
    assert f"(id {rec.root})" in player.history.value  # row 0 is the root's row
    player.panel.value = "mask"
    assert player.figure.layout.title.text.startswith("tree attention mask")
    history = player.inspect_row(rec.root)
    shown = [int(s) for s in re.findall(r"<tr><td>(\d+)</td>", history)]
    assert 7 in shown and max(shown) == 7  # only up to the current step...
    assert max(e.step for e in trace.row_history(rec.root)) > 7  # ...though the run goes on


def test_layers_text_and_trace_are_stdlib_views_never_torch():
    code = (
        "import sys, trviz.trace, trviz.text\n"
        "assert not {'torch', 'plotly', 'networkx'} & set(sys.modules), 'text/trace not stdlib'\n"
        "import trviz.views, trviz.animation, trviz.export, trviz.widgets\n"
        "assert 'torch' not in sys.modules, 'a view imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
