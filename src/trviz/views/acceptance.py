"""Per-node acceptance as a heatmap: tree depth down, rank across (copied nodes in their own
column). Each cell: the acceptance rate, with accepted / drafted below it; hover adds the rate
given an accepted parent. Numbers from :func:`trviz.acceptance_stats.node_acceptance`; the text twin
is :func:`trviz.acceptance_stats.acceptance_text`."""

from __future__ import annotations

import plotly.graph_objects as go

from trviz.acceptance_stats import COPIED, node_acceptance
from trviz.scheme import LOOKS, WHITE, tint
from trviz.trace import Trace
from trviz.views._panel import FONT, MONO


def acceptance_figure(trace: Trace, width: int = 760, height: int = 420) -> go.Figure:
    """Acceptance rate of the drafts at every (depth, rank) of the tree over the trace."""
    cells = node_acceptance(trace)
    ranks = sorted({r for _, r in cells if r != COPIED})
    cols = [f"r{r}" for r in ranks] + ([COPIED] if any(r == COPIED for _, r in cells) else [])
    keys = ranks + ([COPIED] if COPIED in cols else [])
    depths = sorted({d for d, _ in cells})
    z, text, hover = [], [], []
    for d in depths:
        z.append([cells[(d, r)].rate if (d, r) in cells else None for r in keys])
        text.append(
            [f"{c.rate:.0%}<br>{c.accepted}/{c.drafted}" if c else "" for r in keys
             for c in [cells.get((d, r))]]
        )  # fmt: skip
        hover.append(
            [f"depth {d} · {col}<br>accepted {c.accepted} of {c.drafted} drafted"
             f"<br>given an accepted parent: {c.accepted}/{c.reached}" if c else ""
             for r, col in zip(keys, cols) for c in [cells.get((d, r))]]
        )  # fmt: skip
    green = LOOKS["accepted"].color
    heat = go.Heatmap(
        z=z, x=cols, y=depths, text=text, texttemplate="%{text}", hovertext=hover,
        hoverinfo="text", textfont=dict(family=MONO, size=10), zmin=0, zmax=1, xgap=2, ygap=2,
        colorscale=[[0, WHITE], [0.5, tint(green, 0.5)], [1, green]],
        colorbar=dict(title="rate", tickformat=".0%", len=0.8), name="acceptance",
    )  # fmt: skip
    fig = go.Figure(heat)
    fig.update_layout(
        width=width, height=height, font=dict(family=FONT, size=12), plot_bgcolor="white",
        margin=dict(l=60, r=20, t=70, b=50),
        title=dict(text=f"acceptance by tree position · {len(trace)} steps", font=dict(size=15)),
    )  # fmt: skip
    fig.update_xaxes(title_text="rank in the parent's row (copied: prompt lookup)", type="category")
    fig.update_yaxes(title_text="depth", autorange="reversed", dtick=1)
    return fig
