"""The tree attention mask of one step: node ``i`` (row) attends to node ``j`` (column) exactly
when ``j`` is ``i`` or one of its ancestors. Not triangular: siblings never see each other.
Rows and columns are labelled with the drafted tokens; the accepted path is drawn darker."""

from __future__ import annotations

import plotly.graph_objects as go

from trviz.text import token_label
from trviz.trace import Trace
from trviz.views._panel import MONO, Panel, figure

MASK_COLORS = ((0.0, "#ffffff"), (0.5, "#9ecae1"), (1.0, "#2e9e44"))


def mask_cells(parents: tuple[int, ...], path: tuple[int, ...]) -> list[list[int]]:
    """``[N, N]`` codes: 0 masked, 1 attends, 2 attends and both nodes are on ``path``."""
    n = len(parents)
    on_path = set(path)
    z = [[0] * n for _ in range(n)]
    for i in range(n):
        j = i
        while j >= 0:
            z[i][j] = 2 if i in on_path and j in on_path else 1
            j = parents[j]
    return z


def mask_panel(trace: Trace, step: int, label_width: int = 6) -> Panel:
    """The attention mask of step ``step``'s tree as a :class:`Panel`."""
    rec = trace.by_step(step)
    if not rec.is_full:
        raise ValueError(f"step {step} has no tree: record with generate(..., record='full')")
    n = len(rec.parents)
    z = mask_cells(rec.parents, (0, *rec.accepted))
    # categorical axes labelled "index token" (unique): ticks and hover need no per-cell text
    labels = [f"{i} {token_label(trace, t, label_width)}" for i, t in enumerate(rec.tokens)]
    heat = go.Heatmap(
        z=z,
        x=labels,
        y=labels,
        hovertemplate="query %{y} · key %{x}<extra></extra>",
        colorscale=[list(c) for c in MASK_COLORS],
        zmin=0,
        zmax=2,
        showscale=False,
        xgap=1 if n <= 40 else 0,
        ygap=1 if n <= 40 else 0,
        name="tree mask",
    )
    font = dict(family=MONO, size=9 if n <= 40 else 7)
    axis = dict(type="category", tickfont=font, fixedrange=True, showgrid=False, dtick=1)
    title = f"tree attention mask · {n} tokens"
    return Panel(
        title,
        [heat],
        dict(axis, range=[-0.5, n - 0.5], tickangle=-90),
        dict(axis, range=[n - 0.5, -0.5]),
    )


def mask_figure(trace: Trace, step: int, width: int = 720, height: int = 720) -> go.Figure:
    """The tree attention mask of step ``step``, tokens on both axes (query rows, key columns)."""
    return figure(mask_panel(trace, step), width, height)
