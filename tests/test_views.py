"""Views: structure on hand-drawn steps, the registry, staged frames, snapshots of the fixtures."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import plotly.graph_objects as go
import pytest
from snapshots.check import figure_json, matches
from test_describe import budget_trace, lookup_trace, paper_trace
from test_trace import hand_trace

import trviz
from trviz.animation import CELLS, SHARED, _Builder, select_steps
from trviz.describe import STAGES, describe_step
from trviz.scheme import LOOKS, palette
from trviz.text import stage_text
from trviz.views import VIEWS, hover_trace, render
from trviz.views.mask import dfs_order, mask_cells, mask_panel
from trviz.views.matrix import CELLS as MATRIX_CELLS
from trviz.views.matrix import matrix_panel
from trviz.views.text_panel import place_tokens
from trviz.views.tree import tree_figure, tree_layout, tree_panel

DATA = Path(__file__).parent / "data"


def fixture(name: str) -> trviz.Trace:
    return trviz.load_trace(DATA / f"trace-{name}.json")


def _trace(panel, name: str) -> dict:
    return next(t for t in panel.traces if t["name"] == name)


def test_bonus_sits_beside_the_last_accepted_node():
    #   0 ─┬─ 1 ─── 3 ── ◆   step 0: path 0-1-3, the bonus is the next token after node 3
    #      └─ 2
    lay = tree_layout(describe_step(hand_trace(), 0))
    assert lay.bonus_xy == (3.0, lay.xy[3][1])  # one column right of node 3, level with it
    assert lay.xy[1][0] == 1.0 and lay.xy[3][0] == 2.0
    # step 1 accepts nothing: the bonus is the root's own next token, between its children
    lay = tree_layout(describe_step(hand_trace(), 1))
    assert lay.bonus_xy[0] == 1.0 and lay.xy[1][1] < lay.bonus_xy[1] < lay.xy[2][1]
    assert lay.xy[0][1] == lay.bonus_xy[1]  # the root is level with it: no edge across the tree


def test_paper_tree_folds_rejected_subtrees_to_fit():
    story = describe_step(fixture("paper"), 15)
    unfolded = tree_layout(story)
    assert len(unfolded.xy) == 81 and not unfolded.folded
    lay = tree_layout(story, height_px=300)  # room for 20 slots
    assert lay.slots <= 300 // 15
    assert all(i in lay.xy for i in story.path)  # the accepted path is never folded
    hidden = sum(lay.folded.values()) + sum(
        len(kids) for kids, _ in lay.more.values()
    )  # lower bound: each "+N more" hides at least its children
    assert len(lay.xy) + hidden <= 81 and len(lay.xy) < 81
    panel = tree_panel(fixture("paper"), story, "accept", 1000, 300)
    labels = _trace(panel, "nodes")["text"]
    assert any(re.search(r" \+\d+$", label) for label in labels)
    assert "folded under rejected nodes" in panel.title
    # tighter still: the path's highest-ranked rejected children fold into one "+N more" slot
    crowded = describe_step(fixture("paper"), 25)
    lay = tree_layout(crowded, height_px=200)
    assert lay.more and lay.slots <= 200 // 15 and all(i in lay.xy for i in crowded.path)
    folds = _trace(tree_panel(fixture("paper"), crowded, "accept", 1000, 200), "folded")
    assert folds["text"] and all(re.fullmatch(r"\+\d+ more", t) for t in folds["text"])


def test_tree_stages_draw_origin_then_verdict_then_outcome():
    trace, story = hand_trace(), describe_step(hand_trace(), 0)
    draft = tree_panel(trace, story, "draft")
    nodes = _trace(draft, "nodes")
    assert nodes["marker"]["color"][1:] == [LOOKS["drafted"].color] * 3
    assert _trace(draft, "bonus")["text"] == [""] and _trace(draft, "accepted path")["x"] == []
    verify = _trace(tree_panel(trace, story, "verify"), "nodes")["text"]
    assert "✓" in verify[1] and "→␣sat" in verify[1]  # ' cat' matches; the model then wants ' sat'
    assert "✗" in verify[2] and "→↵" in verify[2]
    accept = tree_panel(trace, story, "accept")
    colors = _trace(accept, "nodes")["marker"]["color"]
    assert colors[1] == colors[3] == LOOKS["accepted"].color
    assert colors[2] == LOOKS["rejected"].color and colors[0] == LOOKS["root"].color
    assert _trace(accept, "bonus")["text"] == ["<b>␣on</b>"]
    # numbered rows: drafts read row 1 (root) and row 2 (' cat'); at update the writers
    assert _trace(draft, "row numbers")["text"] == ["1", "2", "", ""]
    assert _trace(tree_panel(trace, story, "update"), "row numbers")["text"] == ["1", "", "", "3"]


def test_dropped_bonus_is_drawn_as_dropped():
    trace = paper_trace(committed=(6,))
    bonus = _trace(tree_panel(trace, describe_step(trace, 0), "accept"), "bonus")
    assert bonus["marker"]["symbol"] == LOOKS["dropped"].symbol
    assert bonus["text"] == ["<b>␣E dropped</b>"]


def test_copied_nodes_look_copied():
    nodes = _trace(tree_panel(lookup_trace(), describe_step(lookup_trace(), 4), "draft"), "nodes")
    assert nodes["marker"]["symbol"][2:] == ["square", "square"]
    assert nodes["marker"]["color"][2:] == [LOOKS["copied"].color] * 2
    assert "copied (context)" in nodes["hovertext"][2] and "row" not in nodes["hovertext"][2]


def test_pruned_candidates_hang_faintly_off_their_parents():
    #   root ' A' ─┬─ r0 ' B'                       verified: nodes 0..3
    #              ├─ c ' C' ─── c ' D' ┄┄ c ' E' +1   pruned 5 (copied), 6 under it (counted)
    #              ┄┄ 'y'                          pruned 4 (matrix)
    trace, story = budget_trace(), describe_step(budget_trace(), 4)
    for stage in STAGES:  # drawn at every stage, in the same place
        panel = tree_panel(trace, story, stage)
        pruned = _trace(panel, "pruned")
        assert pruned["customdata"] == [4, 5] and pruned["text"][0] == "y"
        assert pruned["marker"]["symbol"] == ["circle-open-dot", "square-open-dot"]
        assert pruned["textfont"]["color"] == LOOKS["pruned"].color
        lay = tree_layout(story)
        assert (pruned["x"], pruned["y"]) == ([1.0, 3.0], [lay.xy[4][1], lay.xy[5][1]])
        edges = _trace(panel, "pruned edges")
        assert edges["line"]["dash"] == "dot"
        assert edges["y"] == [lay.xy[0][1], lay.xy[4][1], None, lay.xy[3][1], lay.xy[5][1], None]
        assert 0 < edges["x"][0] < 1 and 2 < edges["x"][3] < 3  # from each parent's label end
    # from verify on, ✓ marks the pruned ' E': the model's pick after ' D' (the budget missed it)
    assert pruned["text"][1] == "␣E <span style='color:#009E73'><b>✓</b></span> +1"
    assert _trace(tree_panel(trace, story, "draft"), "pruned")["text"][1] == "␣E +1"
    assert "it would have matched" in pruned["hovertext"][1]
    assert "the budget left it out" in pruned["hovertext"][1]
    assert "1 more candidate under it" in pruned["hovertext"][1]
    # the copied chain's end carries the match length where origins are drawn
    draft = _trace(tree_panel(trace, story, "draft"), "nodes")["text"]
    assert draft[3].endswith("copied (match 4)</span>")
    assert "match" not in _trace(tree_panel(trace, story, "accept"), "nodes")["text"][3]
    hover = _trace(tree_panel(trace, story, "draft"), "nodes")["hovertext"][3]
    assert "after a 4-token match" in hover and "predicted P(accepted) 0.80" in hover
    fig = tree_figure(trace, 4, "draft")
    assert "pruned (not verified)" in fig.layout.annotations[-1].text  # the legend
    assert "3 nodes verified of 6 candidates, 3 pruned" in fig.layout.title.text


def test_matrix_cells_of_pruned_candidates_are_grey_until_the_update():
    # row ' A' = [' B', 'y']: ' B' became node 1, 'y' the pruned candidate 4
    trace, story = budget_trace(), describe_step(budget_trace(), 4)
    cells = (*MATRIX_CELLS, "pruned")
    for stage, want in (("draft", ["read", "pruned"]), ("accept", ["read", "pruned"]),
                        ("update", ["rewritten", "rewritten"])):  # fmt: skip
        heat = matrix_panel(trace, story, stage).traces[0]
        assert [cells[c] for c in heat["z"][0]] == want, stage
        assert heat["zmax"] == len(cells)
    assert "the budget pruned" in matrix_panel(trace, story, "draft").traces[0]["hovertext"][0][1]
    assert matrix_panel(lookup_trace(), describe_step(lookup_trace(), 4)).traces[0]["zmax"] == 6


def test_old_traces_draw_no_pruned_look():
    for trace, step in ((fixture("paper"), 15), (fixture("small"), 24), (lookup_trace(), 4)):
        panel = tree_panel(trace, describe_step(trace, step), "draft")
        assert not [t for t in panel.traces if t["name"].startswith("pruned")]
        assert "pruned" not in tree_figure(trace, step, "draft").layout.annotations[-1].text


def test_pruned_candidates_fold_first_when_slots_run_short():
    trace = fixture("budget")
    story = describe_step(trace, 3)  # 9 verified nodes, 22 pruned candidates off them
    heads = {i: len(story.budget.heads(i)) for i in range(len(story.nodes))}
    assert tree_layout(story).slots > 20 and not tree_layout(story).pruned_more
    lay = tree_layout(story, height_px=300)  # room for 20 slots
    assert lay.slots <= 20 and lay.pruned_more and not lay.folded
    assert all(i in lay.xy for i in range(len(story.nodes)))  # verified nodes stay
    for parent, (hidden, _) in lay.pruned_more.items():  # a parent's pruned go together
        assert len(hidden) == heads[parent] and not set(hidden) & set(lay.xy)
    folds = _trace(tree_panel(trace, story, "draft", 1000, 300), "pruned folded")
    assert folds["text"] and all(re.fullmatch(r"\+\d+ pruned", t) for t in folds["text"])


def test_matrix_stages():
    trace, story = hand_trace(), describe_step(hand_trace(), 0)

    def codes(stage):
        z = matrix_panel(trace, story, stage, max_rows=4).traces[0]["z"]
        return [[MATRIX_CELLS[c] if c is not None else None for c in row] for row in z]

    assert codes("draft")[:3] == [["read", "read"], ["read", "plain"], ["unread", "unread"]]
    assert codes("accept")[0] == ["accepted", "read"]  # ' cat' accepted, ' dog' rejected
    assert codes("update")[:3] == [["plain", "rewritten"], ["plain", "plain"],
                                   ["rewritten", "rewritten"]]  # fmt: skip
    assert codes("update")[3] == [None, None]  # padding keeps the height fixed
    update = matrix_panel(trace, story, "update", max_rows=4)
    assert update.traces[0]["text"][0][1] == "␣dog<br>→↵"
    assert "'␣the'" in update.yaxis["ticktext"][0] and "#009E73" in update.yaxis["ticktext"][0]
    placeholder = matrix_panel(paper_trace(), describe_step(paper_trace(), 0), "draft")
    assert "(never written)" in placeholder.yaxis["ticktext"][1]


def test_mask_is_tree_attention_in_depth_first_blocks():
    assert mask_cells((-1, 0, 0, 1), (0, 1, 3)) == [
        [2, 0, 0, 0], [2, 2, 0, 0], [1, 0, 1, 0], [2, 2, 0, 2],
    ]  # fmt: skip
    story = describe_step(hand_trace(), 0)
    assert dfs_order(story) == [0, 1, 3, 2]  # branch ' cat' (1, 3) is one block
    panel = mask_panel(hand_trace(), story, "accept")
    assert panel.traces[0]["y"] == ["#0 '␣the'", "#1 '␣cat'", "#3 '␣sat'", "#2 '␣dog'"]
    assert len(panel.traces[1]["x"]) == 6  # path cells: 3 query nodes x their path ancestors
    assert len(panel.shapes) == 2  # one separator (two lines) between the two branches
    paper = mask_panel(fixture("paper"), describe_step(fixture("paper"), 15), "verify", 400)
    ticks = paper.yaxis["tickvals"]
    assert 3 <= len(ticks) < 20 and paper.traces[1]["x"] == []  # thinned; no path before accept


def test_text_figure_colours_accepted_copied_and_bonus():
    placed = place_tokens(hand_trace())
    assert [(p.label, p.step, p.kind) for p in placed] == [
        ("␣cat", 0, "accepted"), ("␣sat", 0, "accepted"), ("␣on", 0, "bonus"), (".", 1, "bonus"),
    ]  # fmt: skip
    assert [p.kind for p in place_tokens(lookup_trace())] == ["copied", "copied", "bonus"]
    fig = trviz.text_figure(hand_trace(), upto=0)
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


@pytest.mark.parametrize("name", ["paper", "small", "budget"])
def test_every_registered_view_renders_deterministically_with_its_twin(name):
    trace = fixture(name)
    step = trace.steps[len(trace) // 2].step
    for view in VIEWS.values():
        stages = STAGES if view.takes == "step" else (None,)
        for stage in stages:
            a = render(view.name, trace, step, stage).to_json()
            assert a == render(view.name, trace, step, stage).to_json(), view.name
            assert '"uid"' not in a, view.name
        fig = render(view.name, trace, step)
        if view.hover:
            assert fig.data[hover_trace(fig, view.name)].name == view.hover
        args = (trace, step) if view.takes == "step" else (trace,)
        assert view.twin(*args).strip(), f"{view.name} has an empty text twin"


@pytest.mark.parametrize("name, step", [("paper", 15), ("budget", 14)])
def test_every_colour_comes_from_the_scheme(name, step):
    trace = fixture(name)
    allowed = {c.upper() for c in palette()}
    for view in VIEWS.values():
        for stage in STAGES if view.takes == "step" else (None,):
            text = figure_json(render(view.name, trace, step, stage))  # the template left out
            found = {c.upper() for c in re.findall(r"#[0-9A-Fa-f]{6}\b|#[0-9A-Fa-f]{3}\b", text)}
            assert found <= allowed, f"{view.name}: colours outside trviz.scheme: {found - allowed}"


def test_registry_drives_the_replay_panels_and_the_cli():
    assert set(CELLS) == {v.name for v in VIEWS.values() if v.replay}
    with pytest.raises(ValueError, match="unknown view"):
        render("nope", hand_trace())


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


def _merged(fig: go.Figure, name: str) -> tuple[list[dict], list[dict]]:
    """A frame as plotly.js computes it: its baseframe chain merged (arrays replaced)."""
    frames = {f.name: f.to_plotly_json() for f in fig.frames}
    chain, frame = [], frames[name]
    while True:
        chain.append(frame)
        if not frame.get("baseframe"):
            break
        frame = frames[frame["baseframe"]]
    data: dict[int, dict] = {}
    notes: list[dict] = []
    for f in reversed(chain):
        for i, tr in zip(f.get("traces") or range(len(f["data"])), f["data"]):
            data[i] = {**data.get(i, {}), **tr}
        notes = f.get("layout", {}).get("annotations", notes)
    return [data[i] for i in sorted(data)], notes


def test_animate_stages_every_step_with_a_caption():
    trace = fixture("paper")
    fig = trviz.animate(trace, steps=slice(10, 13))
    names = [f.name for f in fig.frames]
    assert names == [SHARED] + [f"{s}/{stage}" for s in (10, 11, 12) for stage in STAGES]
    assert all(len(f.data) < len(fig.data) for f in fig.frames if f.name.endswith("/verify"))
    (menu,) = fig.layout.updatemenus
    assert [b.label for b in menu.buttons] == ["▶ Play", "❚❚ Pause"]
    assert list(menu.buttons[0].args[0]) == names[1:]  # Play never shows the shared frame
    assert [s.label for s in fig.layout.sliders[0].steps] == names[1:]
    # any frame, shown alone, is the complete picture of its stage (plotly merges baseframes)
    stories = [describe_step(trace, s) for s in (10, 11, 12)]
    grid_fig = trviz.animate(trace, steps=slice(10, 13))
    builder = _Builder(trace, trace[10:13], stories, _grid_of(grid_fig, trace), max_rows=10,
                       text_lines=3)  # fmt: skip
    for step, stage in ((11, "update"), (12, "verify"), (10, "draft")):
        data, notes = _merged(fig, f"{step}/{stage}")
        want, _ = builder.frame(describe_step(trace, step), stage)
        assert len(data) == len(fig.data)
        for got, expected in zip(data, want):
            for key in ("x", "y", "z", "text", "marker"):
                assert _plain(got.get(key)) == _plain(expected.get(key)), (step, stage, key)
        assert stage_text(trace, step, stage) in [n["text"].replace("<br>", " ") for n in notes]


def _grid_of(fig: go.Figure, trace: trviz.Trace):
    from trviz.animation import _grid

    stories = [describe_step(trace, s) for s in (10, 11, 12)]
    return _grid(trace, stories, int(fig.layout.width), 10, 3)


def _plain(value):
    if hasattr(value, "tolist"):
        return value.tolist()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def test_animate_unstaged_and_fixed_axes():
    trace = fixture("small")
    fig = trviz.animate(trace, stages=False)
    assert [f.name for f in fig.frames if f.name != SHARED] == [str(s.step) for s in trace]
    ranges = {tuple(f.layout.xaxis.range) for f in fig.frames if f.layout.xaxis.range}
    assert len(ranges) == 1  # every frame gives the tree the same range: nothing rescales
    assert trviz.animate(trace, steps=slice(2, 4)).frames[1].name == "2/draft"


def test_animate_refuses_summary_traces():
    trace = hand_trace()
    bare = trviz.Trace(trace.meta, [trviz.StepRecord(0, 10, 5, (), 13, (13,), {})])
    with pytest.raises(trviz.TraceError, match="animate needs a trace recorded"):
        trviz.animate(bare)


def test_step_figure_is_one_stage_without_controls():
    fig = trviz.step_figure(fixture("paper"), 15, "verify")
    assert not fig.frames and not fig.layout.sliders
    assert any("step 15 · verify" in (a.text or "") for a in fig.layout.annotations)


@pytest.mark.parametrize(
    "view, stage",
    [("tree", "verify"), ("tree", "update"), ("matrix", "verify"), ("matrix", "update"),
     ("mask", "update")],
)  # fmt: skip
def test_step_view_snapshots(view, stage):
    trace = fixture("paper")
    step = trace.steps[len(trace) // 2].step
    matches(f"fig-{view}-{stage}-paper.json", figure_json(render(view, trace, step, stage)))


@pytest.mark.parametrize("view", ["text", "accepted", "mat", "speed", "recycling", "acceptance"])
def test_run_view_snapshots(view):
    matches(f"fig-{view}-small.json", figure_json(render(view, fixture("small"))))


def test_budget_tree_snapshot():
    fig = render("tree", fixture("budget"), 14, "draft")
    matches("fig-tree-draft-budget.json", figure_json(fig))


def test_animate_budget_trace_keeps_its_frames_aligned():
    fig = trviz.animate(fixture("budget"), steps=slice(2, 6))
    data, _ = _merged(fig, "5/draft")
    assert len(data) == len(fig.data)  # every step draws the same traces, pruned ones included
    names = [d.name for d in fig.data]
    assert "pruned" in names and "pruned edges" in names
    assert any("pruned (not verified)" in (a.text or "") for a in fig.layout.annotations)


def test_animate_snapshot():
    fig = trviz.animate(fixture("small"), steps=slice(0, 2))
    matches("fig-animate-small.json", figure_json(fig))


class _Points:
    def __init__(self, inds):
        self.point_inds = inds


def test_player_stage_view_hover_and_row_story():
    trace = fixture("paper")
    player = trviz.Player(trace)
    assert player.stage.options == (*STAGES, "whole step") and player.stage.value == "accept"
    assert player.figure.layout.title.text.startswith("draft tree · step 0 ")
    player.slider.value = 7
    player.stage.value = "verify"
    assert "step 7 · verify" in player.summary.value
    story = describe_step(trace, 7)
    nodes = player.figure.data[hover_trace(player.figure, "tree")]
    player._on_hover(nodes, _Points([1]), None)  # hover the second node drawn
    token = story.nodes[nodes.customdata[1]].token
    assert f"(id {token})" in player.history.value
    player.view.value = "matrix"
    player._on_hover(player.figure.data[0], _Points([[0, 3]]), None)  # heatmap points: [row, col]
    assert f"(id {story.rows[0].token})" in player.history.value  # row 1 is the root's row
    player.view.value = "tree"
    folded = len(player.figure.data[hover_trace(player.figure, "tree")].x)
    player.expand.value = True
    assert len(player.figure.data[hover_trace(player.figure, "tree")].x) == 81 > folded
    history = player.inspect_row(story.root)
    shown = [int(s) for s in re.findall(r"step (\d+)", history)]
    assert shown and max(shown) <= 7  # only up to the current step
    player.view.value = "row"
    assert player.figure.layout.title.text.startswith("row story")


def test_layers_text_and_trace_are_stdlib_views_never_torch():
    code = (
        "import sys, trviz.trace, trviz.text, trviz.describe, trviz.recycling, trviz.scheme\n"
        "assert not {'torch', 'plotly', 'networkx'} & set(sys.modules), 'a twin is not stdlib'\n"
        "import trviz.views, trviz.animation, trviz.export, trviz.widgets\n"
        "assert 'torch' not in sys.modules, 'a view imported torch'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_the_colour_table_in_the_docs_lists_every_look():
    doc = (Path(__file__).parent.parent / "docs" / "views.md").read_text(encoding="utf-8")
    assert [k for k in LOOKS if f"| `{k}` |" not in doc] == []


def test_the_default_cap_counts_frames():
    trace = fixture("paper")
    staged = trviz.animate(trace, max_frames=20)  # 5 staged steps of 31, evenly spread
    assert [f.name for f in staged.frames if f.name.endswith("/draft")] == [
        "0/draft",
        "7/draft",
        "14/draft",
        "21/draft",
        "28/draft",
    ]
    assert len(trviz.animate(trace, max_frames=20, stages=False).frames) == 1 + 16  # shared + 16
