"""``trviz.animate(trace)``: one plotly figure replaying a trace step by step, stage by stage.

Panels (the registry's ``replay`` views): the draft tree across the top, the matrix rows and the
tree attention mask below it, the generated text at the bottom. Every step has four frames,
``"STEP/draft"``, ``"STEP/verify"``, ``"STEP/accept"``, ``"STEP/update"``, each with a one-line
caption (the text twin :func:`trviz.text.stage_text`); ``stages=False`` gives one frame per step,
named ``"STEP"``. A Play/Pause pair and a slider drive the frames client-side, so the figure
replays in JupyterLab and in a static HTML page with no kernel. Axes are fixed; nothing plays
until Play is pressed.

Every frame is serialised up front, so the figure grows with the number of steps: a step's
``draft`` frame holds all its panels and its other stages only what changes (plotly's
``baseframe``), so staging adds little to the page but four times the frames. ``steps`` picks a
window (``slice(100, 160)``) or a sample (``range(0, 400, 4)``) of step numbers; by default a
trace is sampled evenly down to ``max_frames`` frames (50 staged steps, or 200 steps with
``stages=False``; docs/views.md gives measured sizes and render times).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from typing import Any

import plotly.graph_objects as go

from trviz.checks import int_at_least
from trviz.describe import STAGES, StepStory, check_stage, describe_step, require_full
from trviz.errors import ConfigError, TraceError
from trviz.scheme import DARK, INK, legend_html
from trviz.text import caption, model_name
from trviz.trace import Trace
from trviz.views._panel import FONT, MONO, Panel, caption_note
from trviz.views.mask import mask_panel
from trviz.views.matrix import matrix_panel
from trviz.views.text_panel import chars_for, place_tokens, text_panel
from trviz.views.tree import ROW_PX, tree_layout, tree_panel

MAX_FRAMES = 200  # frames by default: 50 staged steps, or 200 steps with stages=False
FRAME_MS = 1100  # per frame while playing
SHARED = "shared"  # the frame holding what every step's frames have in common
# the axis suffix of each panel (its cell in the grid is set in _Grid)
CELLS = {"tree": "", "matrix": "2", "mask": "3", "text": "4"}
LEGEND = ("root", "drafted", "copied", "placeholder", "empty", "accepted", "rejected", "bonus",
          "read", "rewritten")  # fmt: skip


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


@dataclass(frozen=True)
class _Grid:
    """Pixel geometry of the figure: the tree across the top, matrix | mask, then the text."""

    width: int
    tree_h: int
    mid_h: int
    text_h: int
    top: int = 104
    bottom: int = 150
    title_gap: int = 26  # room for a panel title above each row of panels
    gap: int = 44  # between rows (axis labels of the row above)

    @property
    def height(self) -> int:
        return (
            self.top
            + self.bottom
            + self.tree_h
            + self.mid_h
            + self.text_h
            + 2 * self.gap
            + (3 * self.title_gap)
        )

    def _y(self, above: int, h: int) -> list[float]:
        plot = self.height - self.top - self.bottom
        top = 1 - above / plot
        return [max(0.0, top - h / plot), top]

    def axes(self) -> dict[str, dict[str, Any]]:
        """Domains and anchors of the four panels' axes (paper fractions of the plot area)."""
        tree = self._y(self.title_gap, self.tree_h)
        mid_above = self.title_gap + self.tree_h + self.gap + self.title_gap
        mid = self._y(mid_above, self.mid_h)
        text = self._y(mid_above + self.mid_h + self.gap + self.title_gap, self.text_h)
        cells = {"": ([0, 1], tree), "2": ([0.16, 0.6], mid), "3": ([0.72, 1.0], mid),
                 "4": ([0, 1], text)}  # fmt: skip
        out = {}
        for suffix, (x, y) in cells.items():
            out[f"xaxis{suffix}"] = dict(domain=x, anchor=f"y{suffix}")
            out[f"yaxis{suffix}"] = dict(domain=y, anchor=f"x{suffix}")
        return out

    def px(self, name: str) -> tuple[float, float]:
        """(width, height) in pixels of a panel's plot area."""
        inner = self.width - 40
        return {"tree": (inner, self.tree_h), "matrix": (0.44 * inner, self.mid_h),
                "mask": (0.28 * inner, self.mid_h), "text": (inner, self.text_h)}[name]  # fmt: skip


def _title(text: str, suffix: str, axes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """A panel title above the panel's plot area."""
    x0 = axes[f"xaxis{suffix}"]["domain"][0]
    y1 = axes[f"yaxis{suffix}"]["domain"][1]
    return dict(text=text, x=x0, y=y1, xref="paper", yref="paper", xanchor="left",
                yanchor="bottom", showarrow=False, font=dict(size=13, color=INK),
                yshift=4)  # fmt: skip


class _Builder:
    """Builds every panel of one frame; holds what all frames share (geometry, text layout)."""

    def __init__(self, trace: Trace, span: Trace, stories: list[StepStory], grid: _Grid, **opts):
        self.trace, self.span, self.grid = trace, span, grid
        self.axes = grid.axes()
        self.max_rows, self.text_lines = opts["max_rows"], opts["text_lines"]
        self.chars = chars_for(grid.px("text")[0])
        self.placed = place_tokens(span, self.chars)
        tree_h = grid.px("tree")[1]
        self.rows = max(tree_layout(s, tree_h).slots for s in stories)
        self.depth = max(s.depth for s in stories)
        pruned = ("pruned",) if any(s.budget is not None for s in stories) else ()
        self.legend = LEGEND[:5] + pruned + LEGEND[5:]

    def panels(self, story: StepStory, stage: str | None) -> dict[str, Panel]:
        w, h = self.grid.px("tree")
        upto = story.step - 1 if stage in ("draft", "verify") else story.step
        return {
            "tree": tree_panel(self.trace, story, stage, w, h, max_rows=self.max_rows,
                               rows=self.rows, depth=self.depth),
            "matrix": matrix_panel(self.trace, story, stage, self.max_rows,
                                   self.grid.px("matrix")[0]),
            "mask": mask_panel(self.trace, story, stage, self.grid.px("mask")[1]),
            "text": text_panel(self.span, upto, self.chars, max_lines=self.text_lines,
                               hover=False, placed=self.placed),
        }  # fmt: skip

    def frame(self, story: StepStory, stage: str | None) -> tuple[list[dict], dict[str, Any]]:
        """(trace dicts, layout) of one frame."""
        panels = self.panels(story, stage)
        data, shapes = [], []
        notes = [_title(p.title, CELLS[n], self.axes) for n, p in panels.items()]
        layout: dict[str, Any] = {}
        for name, panel in panels.items():
            suffix = CELLS[name]
            for tr in panel.traces:
                data.append(dict(tr, xaxis=f"x{suffix}", yaxis=f"y{suffix}"))
            for shape in panel.shapes:
                shapes.append(dict(shape, xref=f"x{suffix}", yref=f"y{suffix}"))
            layout[f"xaxis{suffix}"] = dict(panel.xaxis, **self.axes[f"xaxis{suffix}"])
            layout[f"yaxis{suffix}"] = dict(panel.yaxis, **self.axes[f"yaxis{suffix}"])
        layout["xaxis3"]["showticklabels"] = False  # the rows carry the same labels
        notes.append(caption_note(caption(self.trace, story, stage), 1.0, self.grid.width - 40))
        notes[-1].update(yshift=self.grid.title_gap + 6)
        notes.append(dict(text=legend_html(self.legend, "  "), x=0, y=0, xref="paper", yref="paper",
                          xanchor="left", yanchor="top", yshift=-30, showarrow=False,
                          font=dict(size=11, color=INK)))  # fmt: skip
        layout.update(annotations=notes, shapes=shapes)
        return data, layout


def _diff(new: dict, old: dict) -> dict:
    """The attributes of trace ``new`` that differ from ``old`` (``type`` always kept)."""
    return {key: v for key, v in new.items() if key == "type" or old.get(key) != v}


def _shared(bases: list[dict]) -> list[dict]:
    """Per trace: the attributes every step's first frame has in common (the mask's cells,
    fixed styles), stored once in the :data:`SHARED` frame instead of in every step."""
    out = []
    for i, first in enumerate(bases[0]["data"]):
        same = {k: v for k, v in first.items() if all(b["data"][i].get(k) == v for b in bases)}
        out.append(same)
    return out


def _frames(builder: _Builder, stories: list[StepStory], stages: bool) -> list[dict]:
    """Frames as plain dicts: what all steps share once (frame :data:`SHARED`), each step's first
    stage as the rest of its panels, its other stages only the attributes that changed. Plotly
    merges a frame into its ``baseframe`` chain, so any frame can be shown alone."""
    frames, bases = [], []
    for story in stories:
        base: dict | None = None
        for stage in STAGES if stages else (None,):
            data, layout = builder.frame(story, stage)
            name = f"{story.step}/{stage}" if stage else str(story.step)
            if base is None:
                base = dict(name=name, data=data, layout=layout)
                frames.append(base)
                bases.append(base)
                continue
            changed = [(i, d) for i, d in enumerate(map(_diff, data, base["data"])) if len(d) > 1]
            frames.append(dict(name=name, baseframe=base["name"],
                               traces=[i for i, _ in changed], data=[d for _, d in changed],
                               layout=dict(annotations=layout["annotations"])))  # fmt: skip
    if len(bases) > 1:
        shared = _shared(bases)
        for b in bases:
            b.update(baseframe=SHARED, data=[_diff(d, s) for d, s in zip(b["data"], shared)])
        frames.insert(0, dict(name=SHARED, data=[dict(s, type=s.get("type")) for s in shared]))
    return frames


def _controls(names: list[str], below: float) -> tuple[list[dict], list[dict]]:
    """Play/Pause buttons and a slider over ``names``, ``below`` (paper units) under the plot."""
    play = dict(frame=dict(duration=FRAME_MS, redraw=True), fromcurrent=True,
                transition=dict(duration=0), mode="immediate")  # fmt: skip
    pause = dict(frame=dict(duration=0, redraw=False), transition=dict(duration=0),
                 mode="immediate")  # fmt: skip
    menus = [
        dict(type="buttons", direction="left", showactive=False, x=0.0, y=-below,
             xanchor="left", yanchor="top", pad=dict(r=8, t=8),
             buttons=[dict(label="▶ Play", method="animate", args=[names, play]),
                      dict(label="❚❚ Pause", method="animate", args=[[None], pause])])
    ]  # fmt: skip
    jump = dict(frame=dict(duration=0, redraw=True), transition=dict(duration=0), mode="immediate")
    sliders = [
        dict(active=0, x=0.16, y=-below + 0.01, len=0.84, xanchor="left", yanchor="top",
             pad=dict(t=10), currentvalue=dict(prefix="step ", font=dict(size=14, color=INK)),
             # past ~40 frames the tick labels overlap: hide them (the current value still shows)
             font=dict(size=10, color=DARK if len(names) <= 40 else "rgba(0,0,0,0)"),
             steps=[dict(label=n, method="animate", args=[[n], jump]) for n in names])
    ]  # fmt: skip
    return menus, sliders


def _grid(trace: Trace, stories: list[StepStory], width: int, max_rows: int, lines: int) -> _Grid:
    """Sizes: the tree as tall as its largest step needs (within bounds), the rest fixed."""
    slots = max(tree_layout(s).slots for s in stories)
    tree_h = int(min(470, max(170, slots * ROW_PX * 1.25)))
    return _Grid(width, tree_h, max(250, 26 * max_rows), 24 * lines + 8)


def _layout(trace: Trace, grid: _Grid, frame_layout: dict[str, Any], note: str) -> dict[str, Any]:
    return dict(
        frame_layout, width=grid.width, height=grid.height, font=dict(family=FONT, size=12),
        plot_bgcolor="white", showlegend=False, hoverlabel=dict(font=dict(family=MONO)),
        margin=dict(l=20, r=20, t=grid.top, b=grid.bottom),
        title=dict(text=f"Token Recycling, one step at a time · {model_name(trace)} · "
                        f"{len(trace)} steps · MAT {trace.mat:.2f}{note}",
                   font=dict(size=17), y=0.985, yanchor="top"),
    )  # fmt: skip


def step_figure(
    trace: Trace,
    step: int,
    stage: str | None = None,
    max_rows: int = 10,
    text_lines: int = 3,
    width: int = 1080,
) -> go.Figure:
    """One still of :func:`animate`: step ``step`` at ``stage`` (``None``: the whole step), no
    controls (for pictures, notebooks and slides)."""
    require_full(trace, "step_figure")
    story = describe_step(trace, step)
    check_stage(stage)
    grid = replace(_grid(trace, [story], width, max_rows, text_lines), bottom=60)
    span = trace[: trace.steps.index(trace.by_step(step)) + 1]
    builder = _Builder(trace, span, [story], grid, max_rows=max_rows, text_lines=text_lines)
    data, layout = builder.frame(story, stage)
    return go.Figure(dict(data=data, layout=_layout(trace, grid, layout, "")))


def animate(
    trace: Trace,
    steps: slice | Iterable[int] | None = None,
    max_frames: int = MAX_FRAMES,
    stages: bool = True,
    max_rows: int = 10,
    text_lines: int = 3,
    width: int = 1080,
) -> go.Figure:
    """One figure replaying ``trace`` step by step: the tree, matrix rows, mask and text together.

    steps: which step numbers get frames (see :func:`select_steps`); by default the trace is
        sampled down to ``max_frames`` frames (``max_frames // 4`` steps when staged).
    stages: four frames per step (``"12/draft"``, ``"12/verify"``, ``"12/accept"``,
        ``"12/update"``) with a caption each; ``False``: one frame (``"12"``) showing the whole
        step. ``max_rows``: matrix rows shown; ``text_lines``: lines of text.
    ``width`` defaults to JupyterLab's content width; the height follows from the tree.
    The figure has Play/Pause buttons and a slider; it never plays on its own.
    Needs a trace recorded with ``record="full"``.
    """
    int_at_least("max_frames", max_frames, 1)
    require_full(trace, "animate")
    per_step = len(STAGES) if stages else 1
    chosen = select_steps(trace, steps, max(1, max_frames // per_step))
    first = trace.steps[0].step
    span = trace[chosen[0] - first : chosen[-1] - first + 1]
    stories = [describe_step(trace, s) for s in chosen]
    grid = _grid(trace, stories, width, max_rows, text_lines)
    builder = _Builder(trace, span, stories, grid, max_rows=max_rows, text_lines=text_lines)
    first_data = builder.frame(stories[0], STAGES[0] if stages else None)[0]
    frames = _frames(builder, stories, stages)
    plot_h = grid.height - grid.top - grid.bottom
    menus, sliders = _controls([f["name"] for f in frames if f["name"] != SHARED], 52 / plot_h)
    sampled = "" if len(chosen) == len(trace) else f" · {len(chosen)} of {len(trace)} steps shown"
    first_layout = next(f["layout"] for f in frames if f["name"] != SHARED)
    layout = dict(_layout(trace, grid, first_layout, sampled), updatemenus=menus,
                  sliders=sliders)  # fmt: skip
    return go.Figure(dict(data=first_data, layout=layout, frames=frames))
