"""A panel: the traces and axis settings of one view at one step, placeable in any figure.

Every view builds a :class:`Panel`; ``figure`` wraps one panel into a standalone figure, and
``trviz.animate`` places several panels side by side and re-builds them per step for its frames.
A panel's trace count and order never depend on the step, so frames line up.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

FONT = "DejaVu Sans, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"
COLORS = {
    "root": "#3b3b3b",
    "accepted": "#2e9e44",
    "rejected": "#c9d6e8",
    "unwritten": "#efefef",
    "bonus": "#f28e2b",
    "edge": "#b8c2cc",
    "path": "#2e9e44",
    "draft_fill": "#cfeccf",
    "draft_fill_alt": "#a9dca9",
    "bonus_fill": "#fde0c2",
    "bonus_fill_alt": "#f9c896",
    "current": "#d62728",
}


@dataclass
class Panel:
    """Traces plus the x/y axis properties (ranges fixed, so animation frames never rescale)."""

    title: str
    traces: list[go.BaseTraceType]
    xaxis: dict[str, Any] = field(default_factory=dict)
    yaxis: dict[str, Any] = field(default_factory=dict)
    legend: bool = False


def figure(panel: Panel, width: int = 760, height: int = 520) -> go.Figure:
    """A standalone figure of one panel."""
    fig = go.Figure(data=panel.traces)
    fig.update_layout(
        title=dict(text=panel.title, font=dict(size=15)),
        width=width,
        height=height,
        margin=dict(l=60, r=20, t=60, b=40),
        font=dict(family=FONT, size=12),
        plot_bgcolor="white",
        showlegend=panel.legend,
        hoverlabel=dict(font=dict(family=MONO)),
    )
    fig.update_xaxes(**panel.xaxis)
    fig.update_yaxes(**panel.yaxis)
    return fig


def hidden_axis(lo: float, hi: float, reversed_: bool = False) -> dict[str, Any]:
    """A fixed-range axis with no ticks or grid (for trees and text)."""
    rng = [hi, lo] if reversed_ else [lo, hi]
    return dict(range=rng, visible=False, fixedrange=True, showgrid=False, zeroline=False)
