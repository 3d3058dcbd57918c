"""Run-level charts: accepted length per step and its histogram, MAT over time, and cumulative
speed against greedy decoding (only from timings the trace really recorded)."""

from __future__ import annotations

from collections import Counter
from itertools import accumulate

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trviz.scheme import GREY, GRID, LOOKS, MUTED, RULE
from trviz.trace import Trace
from trviz.views._panel import FONT


def _style(fig: go.Figure, title: str, width: int, height: int) -> go.Figure:
    fig.update_layout(
        title=dict(text=title, font=dict(size=15)),
        width=width,
        height=height,
        font=dict(family=FONT, size=12),
        plot_bgcolor="white",
        margin=dict(l=60, r=20, t=70, b=50),
    )
    fig.update_xaxes(showgrid=True, gridcolor=GRID)
    fig.update_yaxes(showgrid=True, gridcolor=GRID)
    return fig


def accepted_figure(trace: Trace, width: int = 900, height: int = 380) -> go.Figure:
    """Accepted drafted tokens per step (bars; the bonus token stacked on top) and the histogram
    of accepted lengths."""
    steps = [s.step for s in trace]
    acc = [s.accepted_len for s in trace]
    bonus = [len(s.committed) - s.accepted_len for s in trace]
    hist = Counter(acc)
    fig = make_subplots(
        rows=1,
        cols=2,
        column_widths=[0.7, 0.3],
        subplot_titles=("tokens committed per step", "accepted length histogram"),
    )
    fig.add_trace(
        go.Bar(x=steps, y=acc, name="accepted drafts", marker_color=LOOKS["accepted"].color), 1, 1
    )
    fig.add_trace(go.Bar(x=steps, y=bonus, name="bonus", marker_color=LOOKS["bonus"].color), 1, 1)
    lengths = list(range(max(acc, default=0) + 1))
    fig.add_trace(
        go.Bar(
            x=lengths,
            y=[hist[n] for n in lengths],
            name="steps",
            marker_color=GREY,
            showlegend=False,
        ),
        1,
        2,
    )
    fig.update_layout(barmode="stack", legend=dict(orientation="h", y=-0.18))
    fig.update_xaxes(title_text="step", row=1, col=1)
    fig.update_xaxes(title_text="accepted drafts", dtick=1, row=1, col=2)
    fig.update_yaxes(dtick=1, row=1, col=1)
    return _style(fig, f"accepted length · MAT {trace.mat:.2f}", width, height)


def mat_figure(trace: Trace, width: int = 760, height: int = 360) -> go.Figure:
    """Running MAT (tokens committed per target forward so far) after each step."""
    steps = [s.step for s in trace]
    done = list(accumulate(len(s.committed) for s in trace))
    running = [d / (i + 1) for i, d in enumerate(done)]
    fig = go.Figure(
        go.Scatter(
            x=steps,
            y=running,
            mode="lines+markers",
            name="running MAT",
            line=dict(color=LOOKS["accepted"].color),
            marker=dict(size=4),
        )
    )
    fig.add_hline(
        y=1.0, line=dict(color=MUTED, dash="dot"), annotation_text="greedy (1 token per forward)"
    )
    fig.update_xaxes(title_text="step")
    fig.update_yaxes(title_text="tokens per forward", rangemode="tozero")
    return _style(fig, f"MAT over time · final {trace.mat:.2f}", width, height)


def _greedy_rate(greedy: Trace | float) -> float:
    if isinstance(greedy, Trace):
        stats = greedy.meta.get("stats") or {}
        rate = stats.get("tokens_per_s") or 0.0
        if not rate:
            raise ValueError("the greedy trace carries no timing (meta['stats']['tokens_per_s'])")
        return float(rate)
    return float(greedy)


def speed_figure(
    trace: Trace, greedy: Trace | float | None = None, width: int = 760, height: int = 400
) -> go.Figure:
    """Tokens committed against the time the steps took (prefill included when recorded).

    greedy: a greedy run's trace (``trviz.greedy(..., record="summary").trace``) or its measured
        tokens per second; drawn as a straight line at that rate, for comparison.
    Raises ValueError when the trace has no timings.
    """
    if not trace.steps or not any(s.timings for s in trace):
        raise ValueError("this trace has no per-step timings to plot")
    prefill = float((trace.meta.get("stats") or {}).get("prefill_s") or 0.0)
    if trace.steps[0].step != 0:
        prefill = 0.0
    times = [prefill + t for t in accumulate(sum(s.timings.values()) for s in trace)]
    done = list(accumulate(len(s.committed) for s in trace))
    rate = done[-1] / times[-1]
    fig = go.Figure(
        go.Scatter(
            x=[prefill, *times],
            y=[0, *done],
            mode="lines",
            name=f"Token Recycling ({rate:.1f} tok/s)",
            line=dict(color=LOOKS["accepted"].color, width=3),
        )
    )
    title = f"cumulative speed · TR {rate:.1f} tok/s"
    if greedy is not None:
        g = _greedy_rate(greedy)
        fig.add_trace(
            go.Scatter(
                x=[0, times[-1]],
                y=[0, g * times[-1]],
                mode="lines",
                name=f"greedy ({g:.1f} tok/s)",
                line=dict(color=RULE, dash="dash"),
            )
        )
        title += f" vs greedy {g:.1f} tok/s ({rate / g:.2f}x)"
    fig.update_xaxes(title_text="seconds")
    fig.update_yaxes(title_text="tokens committed", rangemode="tozero")
    fig.update_layout(legend=dict(x=0.02, y=0.98))
    return _style(fig, title, width, height)
