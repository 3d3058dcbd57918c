"""Trash into treasure, shown: where accepted drafts came from, and one matrix row's story.

``recycling_figure`` stacks each step's accepted drafts by the source of their matrix entry
(written by an accepted path, by a rejected node, by the prefill seed, before the trace,
a never-written placeholder, or copied from the context) and gives the run's shares beside it.
``row_story_figure`` follows one matrix row across the run: one column per version of the row
(who wrote it), one cell per candidate, marked where it drafted a node (``✓`` accepted); a
``★`` marks an entry a *rejected* node wrote that later drafted an accepted token. The numbers
are :mod:`trviz.recycling`'s; the text twins are ``recycling_text`` and ``row_story_text``.
"""

from __future__ import annotations

from collections.abc import Sequence

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trviz.recycling import (
    SOURCES,
    RowVersion,
    recycling_stats,
    row_versions,
    shares_by_step,
    treasure,
    version_name,
)
from trviz.scheme import DARK, LOOKS, legend_html
from trviz.text import plural, token_label
from trviz.trace import Trace
from trviz.views._panel import FONT, MONO

MAX_VERSIONS = 10


def recycling_figure(
    trace: Trace, history: Sequence[Trace] = (), width: int = 1000, height: int = 400
) -> go.Figure:
    """Accepted drafts per step, stacked by where their matrix entry came from, and the shares
    over the run (``history``: earlier traces on the same matrix, see
    :func:`trviz.recycling.recycling_stats`)."""
    per_step = shares_by_step(trace, history)
    stats = recycling_stats(trace, history)
    titles = ("accepted drafts per step", "share of all accepted")
    fig = make_subplots(rows=1, cols=2, column_widths=[0.75, 0.25], horizontal_spacing=0.08,
                        subplot_titles=titles)  # fmt: skip
    steps = [s for s, _ in per_step]
    for src in SOURCES:
        look = LOOKS[f"from_{src}"]
        fig.add_trace(
            go.Bar(x=steps, y=[c[src] for _, c in per_step], name=look.word,
                   marker_color=look.color, marker_line=dict(width=0.5, color=DARK),
                   legendgroup=src),
            1, 1,
        )  # fmt: skip
        share = stats["shares"][src]
        fig.add_trace(
            go.Bar(x=["run"], y=[share], marker_color=look.color, showlegend=False,
                   text=[f"{share:.0%}" if share >= 0.04 else ""], textposition="inside",
                   marker_line=dict(width=0.5, color=DARK), legendgroup=src,
                   hovertemplate=f"{look.word}: %{{y:.1%}}<extra></extra>"),
            1, 2,
        )  # fmt: skip
    total = sum(stats["counts"].values())
    trash = stats["shares"]["rejected"]
    fig.update_layout(
        barmode="stack", width=width, height=height, font=dict(family=FONT, size=12),
        plot_bgcolor="white", legend=dict(orientation="h", y=-0.2, font=dict(size=11)),
        margin=dict(l=60, r=20, t=80, b=110),
        title=dict(text=f"where the {total} accepted drafts came from · {trash:.0%} from entries "
                        "written by rejected nodes (trash turned treasure)", font=dict(size=15)),
    )  # fmt: skip
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_yaxes(title_text="accepted drafts", dtick=1 if total < 40 else None, row=1, col=1)
    fig.update_yaxes(tickformat=".0%", range=[0, 1], row=1, col=2)
    return fig


def _cell(trace: Trace, version: RowVersion, rank: int) -> tuple[str, bool]:
    """(cell text, is it treasure) for one candidate of one version: the token, the steps it
    drafted a node (``✓`` accepted), and ``★`` when a rejected node wrote it and it was accepted."""
    uses = [d for d in version.uses if d.rank == rank]
    text = token_label(trace, version.row[rank], 8)
    marks = " ".join(dict.fromkeys(f"{'✓' if d.accepted else '·'}{d.step}" for d in uses))
    marks = marks if len(marks) <= 12 else marks[:11] + "…"
    gem = version.origin.kind == "rejected" and any(d.accepted for d in uses)
    if gem:
        text = f"<b>★ {text}</b>"
    return (f"{text}<br>{marks}" if marks else text), gem


def row_story_figure(
    trace: Trace,
    token: int | None = None,
    history: Sequence[Trace] = (),
    width: int = 1000,
    height: int = 440,
) -> go.Figure:
    """The story of matrix row ``token`` (default: the row where recycled trash paid off most):
    its last :data:`MAX_VERSIONS` versions as columns, coloured by who wrote them; a cell lists
    the steps it drafted a node (``✓`` accepted, ``·`` rejected); ``★`` marks an entry written
    by a rejected node that later drafted an accepted token."""
    if token is None:
        ranked = treasure(trace, history)
        token = ranked[0][0] if ranked else trace.steps[0].root
    versions = row_versions(trace, token, history)
    shown = versions[-MAX_VERSIONS:]
    k = len(shown[0].row) if shown else 1
    kinds = [f"from_{v.origin.kind}" for v in shown]
    palette = list(dict.fromkeys(kinds)) or ["from_hot_start"]
    z, text, gems = [], [], 0
    for rank in range(k):
        cells = [_cell(trace, v, rank) for v in shown]
        # a treasure cell gets the strong "from rejected" colour; the others their writer's tint
        z.append([len(palette) if gem else palette.index(kind) for (_, gem), kind in
                  zip(cells, kinds)])  # fmt: skip
        text.append([c for c, _ in cells])
        gems += sum(gem for _, gem in cells)
    colors = [LOOKS[kind].fill for kind in palette] + [LOOKS["from_rejected"].color]
    scale = []
    for i, color in enumerate(colors):
        scale += [[i / len(colors), color], [(i + 1) / len(colors), color]]
    names = [f"{i + len(versions) - len(shown)}: {version_name(v)}" for i, v in enumerate(shown)]
    ticks = [n.replace(" · ", "<br>", 1).replace(" (", "<br>(") for n in names]
    fig = go.Figure(
        go.Heatmap(z=z, x=names, y=list(range(k)), text=text, texttemplate="%{text}",
                   textfont=dict(family=MONO, size=9), colorscale=scale, zmin=0,
                   zmax=len(colors), showscale=False, xgap=2, ygap=1, hoverinfo="skip",
                   name="row versions")
    )  # fmt: skip
    more = f" · last {len(shown)} of {len(versions)} versions" if len(versions) > len(shown) else ""
    fig.update_layout(
        width=width, height=height, font=dict(family=FONT, size=12), plot_bgcolor="white",
        margin=dict(l=70, r=20, t=80, b=150), showlegend=False,
        title=dict(text=f"row story · matrix row '{token_label(trace, token)}'{more} · "
                        f"{plural(gems, 'entry')} written by rejected nodes later accepted (★)",
                   font=dict(size=15)),
    )  # fmt: skip
    fig.update_xaxes(type="category", tickvals=names, ticktext=ticks, tickfont=dict(size=10))
    fig.update_yaxes(title_text="rank", autorange="reversed", tickvals=list(range(k)))
    fig.add_annotation(
        text=legend_html(palette) + "<br>✓N: drafted a node at step N that was accepted; "
        "·N: rejected; ★ (solid): an entry a rejected node wrote, later accepted",
        x=0, y=-0.36, xref="paper", yref="paper", xanchor="left", showarrow=False,
        font=dict(size=11),
    )  # fmt: skip
    return fig
