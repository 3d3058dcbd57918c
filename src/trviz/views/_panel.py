"""A panel: the traces and axis settings of one view at one step, placeable in any figure.

Every view builds a :class:`Panel`; ``figure`` wraps one panel into a standalone figure, and
``trviz.animate`` places several panels in one grid and re-builds them per step and stage for its
frames. A panel's trace count and order never depend on the step or stage, so frames line up.
Colours come from :mod:`trviz.scheme` only.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import plotly.graph_objects as go

from trviz.scheme import INK, legend_html

FONT = "DejaVu Sans, Arial, sans-serif"
MONO = "DejaVu Sans Mono, Menlo, Consolas, monospace"


@dataclass
class Panel:
    """Traces plus the x/y axis properties (ranges fixed, so animation frames never rescale)."""

    title: str
    traces: list[go.BaseTraceType]
    xaxis: dict[str, Any] = field(default_factory=dict)
    yaxis: dict[str, Any] = field(default_factory=dict)
    legend: bool = False
    shapes: list[dict[str, Any]] = field(default_factory=list)  # xref "x", yref "y"


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
    fig.update_layout(shapes=panel.shapes)
    fig.update_xaxes(**panel.xaxis)
    fig.update_yaxes(**panel.yaxis)
    return fig


def hidden_axis(lo: float, hi: float, reversed_: bool = False) -> dict[str, Any]:
    """A fixed-range axis with no ticks or grid (for trees and text)."""
    rng = [hi, lo] if reversed_ else [lo, hi]
    return dict(range=rng, visible=False, fixedrange=True, showgrid=False, zeroline=False)


CAPTION_CHAR_PX = 7.0  # average advance of a 13 px DejaVu Sans character


def wrap(text: str, width_px: float, char_px: float = CAPTION_CHAR_PX) -> str:
    """``text`` broken into ``<br>``-separated lines that fit ``width_px`` pixels."""
    limit = max(20, int(width_px / char_px))
    lines: list[str] = []
    for word in text.split(" "):
        if lines and len(lines[-1]) + 1 + len(word) <= limit:
            lines[-1] += " " + word
        else:
            lines.append(word)
    return "<br>".join(lines)


def caption_note(text: str, y: float = 1.0, width_px: float = 1040) -> dict[str, Any]:
    """The stage caption, drawn at the top of a figure (paper coordinates); one line in a
    figure as wide as the animation, wrapped in narrower ones."""
    return dict(text=wrap(text, width_px), x=0, y=y, xref="paper", yref="paper", xanchor="left",
                yanchor="bottom", showarrow=False, font=dict(size=13, color=INK),
                align="left", name="caption")  # fmt: skip


def legend_note(names: tuple[str, ...], y: float) -> dict[str, Any]:
    """The one legend (from :mod:`trviz.scheme`) as an annotation line below a figure."""
    return dict(text=legend_html(names), x=0, y=y, xref="paper", yref="paper", xanchor="left",
                yanchor="top", showarrow=False, font=dict(size=11, color=INK),
                name="legend")  # fmt: skip


def staged_figure(
    panel: Panel,
    caption: str,
    legend: tuple[str, ...],
    size: tuple[int, int],
    left: int = 20,
    legend_y: float = -0.01,
) -> go.Figure:
    """A standalone figure of one stage of a step view: the panel, its caption on top and the
    legend of the looks it uses below (``size``: width, height in pixels)."""
    width, height = size
    note = caption_note(caption, 1.0, width - 40)
    top = 70 + 18 * (note["text"].count("<br>") + 1)  # the title, then the caption's lines
    fig = figure(panel, width, height)
    fig.update_layout(margin=dict(l=left, r=20, t=top, b=60 if legend_y > -0.05 else 110))
    fig.add_annotation(**note, yshift=8, xshift=20 - left)  # from the figure's left edge
    fig.add_annotation(**legend_note(legend, legend_y), xshift=20 - left)
    return fig
