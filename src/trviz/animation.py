"""``trviz.animate(trace)``: one plotly figure, one frame per step, every panel moving together.

Panels: the draft tree (accepted path, bonus), the matrix rows read and rewritten, the tree
attention mask, and the generated text so far. A Play/Pause pair and a step slider drive the
frames client-side, so the figure replays in JupyterLab and in a static HTML page with no kernel.
Axes are fixed; nothing plays until Play is pressed.

Every frame is serialised up front, so the figure grows with the number of frames: ``steps``
picks a window (``slice(100, 160)``) or a sample (``range(0, 400, 4)``) of step numbers, and
traces longer than ``max_frames`` are sampled evenly unless told otherwise (docs/views.md gives
measured sizes and render times).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import plotly.graph_objects as go
from plotly.subplots import make_subplots

from trviz.checks import int_at_least
from trviz.errors import ConfigError, TraceError
from trviz.text import model_name
from trviz.trace import Trace
from trviz.views._panel import FONT, MONO, Panel
from trviz.views.generated import chars_for, text_panel
from trviz.views.mask import mask_panel
from trviz.views.matrix import matrix_panel
from trviz.views.tree import tree_panel

MAX_FRAMES = 200
# (row, col) of each panel in the grid, and the axis suffix plotly gives that cell
CELLS = {"tree": (1, 1, ""), "matrix": (1, 2, "2"), "mask": (1, 3, "3"), "text": (2, 1, "4")}
FRAME_MS = 900


def select_steps(
    trace: Trace, steps: slice | Iterable[int] | None = None, max_frames: int = MAX_FRAMES
) -> list[int]:
    """The step numbers to animate.

    steps: ``None`` (all; evenly sampled down to ``max_frames`` when longer), a ``slice`` or
        ``range`` of step numbers (``slice(10, 50)``, ``range(0, 400, 5)``) or any iterable of
        step numbers. Numbers the trace does not hold are ignored.
    """
    int_at_least("max_frames", max_frames, 1)
    have = [s.step for s in trace]
    if not have:
        raise TraceError("the trace has no steps to animate")
    if steps is None:
        if len(have) <= max_frames:
            return have
        stride = -(-len(have) // max_frames)
        return have[::stride]
    if isinstance(steps, slice):
        if steps.step is not None:
            int_at_least("the stride of steps", steps.step, 1)
        lo = have[0] if steps.start is None else steps.start
        hi = have[-1] + 1 if steps.stop is None else steps.stop
        wanted = set(range(lo, hi, steps.step or 1))
    else:
        wanted = {int(s) for s in steps}
    chosen = [s for s in have if s in wanted]
    if not chosen:
        raise ConfigError(
            f"none of the requested steps are in the trace (steps {have[0]}..{have[-1]})"
        )
    return chosen


def _panels(
    trace: Trace, span: Trace, step: int, max_rows: int, text_lines: int, chars: int
) -> dict:
    return {
        "tree": tree_panel(trace, step),
        "matrix": matrix_panel(trace, step, max_rows=max_rows),
        "mask": mask_panel(trace, step),
        "text": text_panel(span, step, chars, max_lines=text_lines, hover=False),
    }


def _frame_layout(panels: dict[str, Panel], titles: list[dict]) -> dict[str, Any]:
    """Per-frame layout: axis labels and ranges that depend on the step, and the panel titles."""
    layout: dict[str, Any] = {"annotations": titles}
    for name, panel in panels.items():
        suffix = CELLS[name][2]
        layout[f"xaxis{suffix}"] = panel.xaxis
        layout[f"yaxis{suffix}"] = panel.yaxis
    return layout


def _titles(fig: go.Figure, panels: dict[str, Panel]) -> list[dict]:
    """The subplot-title annotations of ``fig`` with this step's panel titles."""
    notes = [a.to_plotly_json() for a in fig.layout.annotations]
    for note, panel in zip(notes, panels.values(), strict=True):
        note["text"] = panel.title
        note["font"] = dict(size=13, color="#222")
    return notes


def _controls(names: list[str]) -> tuple[list[dict], list[dict]]:
    play = dict(
        frame=dict(duration=FRAME_MS, redraw=True),
        fromcurrent=True,
        transition=dict(duration=0),
        mode="immediate",
    )
    pause = dict(
        frame=dict(duration=0, redraw=False), transition=dict(duration=0), mode="immediate"
    )
    menus = [
        dict(
            type="buttons",
            direction="left",
            showactive=False,
            x=0.0,
            y=-0.04,
            xanchor="left",
            yanchor="top",
            pad=dict(r=8, t=8),
            buttons=[
                dict(label="▶ Play", method="animate", args=[None, play]),
                dict(label="❚❚ Pause", method="animate", args=[[None], pause]),
            ],
        )
    ]
    jump = dict(frame=dict(duration=0, redraw=True), transition=dict(duration=0), mode="immediate")
    sliders = [
        dict(
            active=0,
            x=0.14,
            y=-0.02,
            len=0.86,
            xanchor="left",
            yanchor="top",
            pad=dict(t=10),
            currentvalue=dict(prefix="step ", font=dict(size=14, color="#222")),
            # past ~40 frames the tick labels overlap: hide them (the current value still shows)
            font=dict(size=10, color="#444" if len(names) <= 40 else "rgba(0,0,0,0)"),
            steps=[dict(label=n, method="animate", args=[[n], jump]) for n in names],
        )
    ]
    return menus, sliders


def animate(
    trace: Trace,
    steps: slice | Iterable[int] | None = None,
    max_frames: int = MAX_FRAMES,
    max_rows: int = 12,
    text_lines: int = 5,
    width: int = 1240,
    height: int = 920,
) -> go.Figure:
    """One figure replaying ``trace`` step by step (tree, matrix rows, mask and text together).

    steps: which step numbers get a frame (see :func:`select_steps`); ``max_frames`` caps the
        default. ``max_rows``: matrix rows shown per step; ``text_lines``: lines of text shown.
    The figure has Play/Pause buttons and a step slider; it never plays on its own.
    Needs a trace recorded with ``record="full"``.
    """
    chosen = select_steps(trace, steps, max_frames)  # an empty trace or bad steps: said here
    if trace.level != "full":
        raise ValueError("animate needs a trace recorded with generate(..., record='full')")
    span = trace[chosen[0] - trace.steps[0].step : chosen[-1] - trace.steps[0].step + 1]
    fig = make_subplots(
        rows=2,
        cols=3,
        column_widths=[0.42, 0.32, 0.26],
        row_heights=[0.78, 0.22],
        specs=[[{}, {}, {}], [{"colspan": 3}, None, None]],
        horizontal_spacing=0.07,
        vertical_spacing=0.12,
        subplot_titles=tuple(CELLS),
    )
    frames, first = [], None
    for step in chosen:
        panels = _panels(trace, span, step, max_rows, text_lines, chars_for(width - 140))
        if first is None:
            first = panels
            for name, panel in panels.items():
                row, col, _ = CELLS[name]
                for tr in panel.traces:
                    fig.add_trace(tr, row=row, col=col)
        data = [tr for panel in panels.values() for tr in panel.traces]
        frames.append(
            go.Frame(name=str(step), data=data, layout=_frame_layout(panels, _titles(fig, panels)))
        )
    fig.frames = frames
    fig.update_layout(frames[0].layout)
    menus, sliders = _controls([f.name for f in frames])
    sampled = "" if len(chosen) == len(trace) else f" · {len(chosen)} of {len(trace)} steps shown"
    fig.update_layout(
        title=dict(
            text=f"Token Recycling replay · {model_name(trace)} · "
            f"{len(trace)} steps · MAT {trace.mat:.2f}{sampled}",
            font=dict(size=17),
        ),
        width=width,
        height=height,
        font=dict(family=FONT, size=12),
        plot_bgcolor="white",
        showlegend=False,
        margin=dict(l=110, r=30, t=110, b=110),
        updatemenus=menus,
        sliders=sliders,
        hoverlabel=dict(font=dict(family=MONO)),
    )
    return fig
