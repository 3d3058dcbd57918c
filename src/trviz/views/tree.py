"""The draft tree of one step, with the accepted path and the bonus token highlighted.

Layout (computed with networkx, deterministic): depth runs left to right, leaves are stacked top
to bottom in depth-first order and every parent sits at the middle of its children. The bonus
token (the model's argmax after the deepest accepted node) is drawn in an extra column on the
right, joined to that node by a dashed edge.
"""

from __future__ import annotations

from functools import lru_cache

import networkx as nx
import plotly.graph_objects as go

from trviz.text import choice_word, token_label
from trviz.trace import StepRecord, Trace
from trviz.views._panel import COLORS, MONO, Panel, figure, hidden_axis


@lru_cache(maxsize=32)
def tree_layout(parents: tuple[int, ...]) -> tuple[tuple[float, float], ...]:
    """``(x, y)`` per node: x = depth, y = leaf slot (parents centred over their children)."""
    graph = nx.DiGraph()
    graph.add_nodes_from(range(len(parents)))
    graph.add_edges_from((p, i) for i, p in enumerate(parents) if i)
    y: dict[int, float] = {}
    slot = 0
    for node in nx.dfs_postorder_nodes(graph, 0, sort_neighbors=sorted):
        kids = sorted(graph.successors(node))
        if kids:
            y[node] = (y[kids[0]] + y[kids[-1]]) / 2
        else:
            y[node] = float(slot)
            slot += 1
    depth = nx.shortest_path_length(graph, 0)
    return tuple((float(depth[i]), y[i]) for i in range(len(parents)))


def _node_style(rec: StepRecord, i: int) -> tuple[str, str]:
    """(fill colour, status word) of node ``i``."""
    if i == 0:
        return COLORS["root"], "root (last committed token)"
    if i in rec.accepted:
        return COLORS["accepted"], "accepted"
    if rec.tokens[i] < 0:
        return COLORS["unwritten"], "empty slot (row not written yet)"
    return COLORS["rejected"], "rejected"


def _choice_line(trace: Trace, choice: int) -> str:
    """What the model chose after a node: its argmax, or under sampling its sample."""
    if choice < 0:  # only under sampling: the walk stopped before this node
        return "model sample after it: none drawn (the sampling walk never reached this node)"
    return f"model {choice_word(trace)} after it: '{token_label(trace, choice)}'"


def _hover(trace: Trace, rec: StepRecord, i: int, status: str) -> str:
    tok = rec.tokens[i]
    lines = [
        f"<b>node {i}</b> · depth {rec.depths[i]} · rank {rec.ranks[i]}",
        f"token '{token_label(trace, tok)}'" + (f" (id {tok})" if tok >= 0 else ""),
    ]
    if i:
        parent_tok = rec.tokens[rec.parents[i]]
        lines.append(f"from row '{token_label(trace, parent_tok)}' column {rec.ranks[i]}")
    lines.append(_choice_line(trace, rec.argmax[i]))
    if rec.lookup_nodes and i in rec.lookup_nodes:
        status += " · drafted by prompt lookup, not the matrix"
    lines.append(status)
    return "<br>".join(lines)


def tree_panel(trace: Trace, step: int, label_width: int = 9) -> Panel:
    """The draft tree of step ``step`` as a :class:`Panel` (needs a ``full`` trace)."""
    rec = trace.by_step(step)
    if not rec.is_full:
        raise ValueError(f"step {step} has no tree: record with generate(..., record='full')")
    pos = tree_layout(rec.parents)
    max_depth = max(rec.depths)
    best = rec.accepted[-1] if rec.accepted else 0
    bonus_xy = (max_depth + 1.0, pos[best][1])

    edge_x: list[float | None] = []
    edge_y: list[float | None] = []
    for i, p in enumerate(rec.parents[1:], start=1):
        edge_x += [pos[p][0], pos[i][0], None]
        edge_y += [pos[p][1], pos[i][1], None]
    path = (0, *rec.accepted)
    path_x = [pos[i][0] for i in path]
    path_y = [pos[i][1] for i in path]
    styles = [_node_style(rec, i) for i in range(len(rec.tokens))]
    labels = [token_label(trace, t, label_width) for t in rec.tokens]

    traces = [
        go.Scatter(
            x=edge_x,
            y=edge_y,
            mode="lines",
            hoverinfo="skip",
            name="edges",
            line=dict(color=COLORS["edge"], width=1),
        ),
        go.Scatter(
            x=path_x,
            y=path_y,
            mode="lines",
            hoverinfo="skip",
            name="accepted path",
            line=dict(color=COLORS["path"], width=4),
        ),
        go.Scatter(
            x=[pos[best][0], bonus_xy[0]],
            y=[pos[best][1], bonus_xy[1]],
            mode="lines",
            hoverinfo="skip",
            name="bonus edge",
            line=dict(color=COLORS["bonus"], width=2, dash="dash"),
        ),
        go.Scatter(
            x=[p[0] for p in pos],
            y=[p[1] for p in pos],
            mode="markers+text",
            name="nodes",
            marker=dict(size=11, color=[s[0] for s in styles], line=dict(width=1, color="#555")),
            text=labels,
            textposition="middle right",
            textfont=dict(family=MONO, size=10),
            hovertext=[_hover(trace, rec, i, s[1]) for i, s in enumerate(styles)],
            hoverinfo="text",
        ),
        go.Scatter(
            x=[bonus_xy[0]],
            y=[bonus_xy[1]],
            mode="markers+text",
            name="bonus",
            marker=dict(
                size=14, symbol="diamond", color=COLORS["bonus"], line=dict(width=1, color="#555")
            ),
            text=[token_label(trace, rec.bonus, label_width)],
            textposition="middle right",
            textfont=dict(family=MONO, size=11),
            hovertext=[
                f"<b>bonus token</b> '{token_label(trace, rec.bonus)}' (id {rec.bonus})"
                f"<br>the model's {choice_word(trace)} after the last accepted node"
            ],
            hoverinfo="text",
        ),
    ]
    n_leaves = max(p[1] for p in pos) + 1
    title = (
        f"draft tree · step {rec.step} · accepted {len(rec.accepted)} "
        f"+ bonus '{token_label(trace, rec.bonus, 12)}'"
    )
    return Panel(
        title,
        traces,
        xaxis=hidden_axis(-0.3, max_depth + 2.2),
        yaxis=hidden_axis(-0.8, n_leaves - 0.2, reversed_=True),
    )


def tree_figure(trace: Trace, step: int, width: int = 760, height: int = 620) -> go.Figure:
    """The draft tree of step ``step``: green = accepted path, orange diamond = bonus token,
    blue-grey = rejected drafts, pale = empty slots; hover a node for its token, rank, depth,
    the matrix row it was read from and the model's argmax there."""
    return figure(tree_panel(trace, step), width, height)
