"""The tree attention mask of one step: node ``i`` (row) attends to node ``j`` (column) exactly
when ``j`` is ``i`` or one of its ancestors. Not triangular: siblings never see each other.

Rows and columns are in depth-first order, so every branch of the root is one block on the
diagonal (thin lines separate the blocks) and the mask reads as "each branch sees the root and
itself". Only some axis labels are printed (the root, the accepted path, the branch heads, never
closer than a readable gap); hover any cell for its two tokens. From ``accept`` on, the cells
where accepted nodes attend to each other are green (a layer of square markers over the mask).
"""

from __future__ import annotations

import math

import plotly.graph_objects as go

from trviz.describe import StepStory, check_stage, describe_step
from trviz.scheme import LOOKS, RULE, WHITE
from trviz.text import caption, token_label
from trviz.trace import Trace
from trviz.views._panel import MONO, Panel, staged_figure

LABEL_GAP_PX = 13  # printed axis labels are at least this far apart


def mask_cells(parents: tuple[int, ...], path: tuple[int, ...]) -> list[list[int]]:
    """``[N, N]`` codes in node order: 0 masked, 1 attends, 2 attends and both are on ``path``
    (the panel draws the path's cells as a separate layer, so its heatmap never changes with the
    stage)."""
    n = len(parents)
    on_path = set(path)
    z = [[0] * n for _ in range(n)]
    for i in range(n):
        j = i
        while j >= 0:
            z[i][j] = 2 if i in on_path and j in on_path else 1
            j = parents[j]
    return z


def dfs_order(story: StepStory) -> list[int]:
    """Node indices in depth-first (pre-)order: each subtree is contiguous."""
    order: list[int] = []
    stack = [0]
    while stack:
        i = stack.pop()
        order.append(i)
        stack.extend(reversed(story.nodes[i].children))
    return order


def _ticks(story: StepStory, order: list[int], gap: int) -> list[int]:
    """Positions (in ``order``) whose labels are printed: root, path, branch heads, spaced."""
    where = {node: pos for pos, node in enumerate(order)}
    heads = [i for i in story.nodes[0].children]
    kept: list[int] = []
    for node in (*story.path[1:], *heads, 0):
        pos = where[node]
        if all(abs(pos - k) >= gap for k in kept):
            kept.append(pos)
    return sorted(kept)


def mask_panel(
    trace: Trace, story: StepStory, stage: str | None = None, height_px: float = 420
) -> Panel:
    """The attention mask of ``story``'s tree as a :class:`Panel` (plot ``height_px`` tall)."""
    order = dfs_order(story)
    n = len(order)
    cells = mask_cells(tuple(nd.parent for nd in story.nodes), ())
    z = [[cells[i][j] for j in order] for i in order]
    labels = [f"#{i} '{token_label(trace, story.nodes[i].token, 6)}'" for i in order]
    path = story.path if stage not in ("draft", "verify") else ()
    on_path = [(labels[order.index(i)], labels[order.index(j)]) for i in path for j in path
               if cells[i][j]]  # fmt: skip
    size = max(3.0, height_px / n - 1)
    path_cells = dict(
        type="scatter", mode="markers", name="accepted path attends",
        x=[b for _, b in on_path], y=[a for a, _ in on_path], hoverinfo="skip",
        marker=dict(symbol="square", size=size, color=LOOKS["accepted"].color, line=dict(width=0)),
    )  # fmt: skip
    gap = max(1, math.ceil(LABEL_GAP_PX / (height_px / n)))
    ticks = [labels[p] for p in _ticks(story, order, gap)]
    heat = dict(
        type="heatmap", z=z, x=labels, y=labels, name="tree mask",
        hovertemplate="query %{y} · key %{x}<extra></extra>",
        colorscale=[[0, WHITE], [1, LOOKS["attends"].color]], zmin=0, zmax=1,
        showscale=False, xgap=1 if n <= 40 else 0, ygap=1 if n <= 40 else 0,
    )  # fmt: skip
    heads = sorted(order.index(i) for i in story.nodes[0].children)[1:]
    line = dict(color=RULE, width=0.6)
    shapes = [
        dict(type="line", xref="x", yref="y", x0=a0, x1=a1, y0=b0, y1=b1, line=line)
        for p in heads
        for a0, a1, b0, b1 in ((p - 0.5, p - 0.5, -0.5, n - 0.5), (-0.5, n - 0.5, p - 0.5, p - 0.5))
    ]
    axis = dict(type="category", tickfont=dict(family=MONO, size=9), fixedrange=True,
                showgrid=False, tickvals=ticks, ticktext=ticks, categoryorder="array",
                categoryarray=labels)  # fmt: skip
    title = f"attention mask · {n} tokens"
    return Panel(
        title,
        [heat, path_cells],
        dict(axis, range=[-0.5, n - 0.5], tickangle=-90),
        dict(axis, range=[n - 0.5, -0.5]),
        shapes=shapes,
    )


def mask_figure(
    trace: Trace, step: int, stage: str | None = None, width: int = 720, height: int = 720
) -> go.Figure:
    """The tree attention mask of step ``step`` (query rows, key columns, depth-first order)."""
    story = describe_step(trace, step)
    check_stage(stage)
    panel = mask_panel(trace, story, stage, height - 200)
    legend = ("attends", "accepted")
    return staged_figure(panel, caption(trace, story, stage), legend, (width, height), 110, -0.16)
