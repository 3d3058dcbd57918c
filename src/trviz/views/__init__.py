"""Views: pure functions of a :class:`~trviz.trace.Trace` returning plotly figures.

:data:`VIEWS` is the one registry of views: what each takes, which of its plotly traces carries
hover (by name, never by position), whether ``trviz.animate`` places it as a panel, and its text
twin. Export, the ``trviz replay`` command, the Player and the tests all read it.

Step views take ``(trace, step, stage=None)``: ``stage`` is one of ``"draft"``, ``"verify"``,
``"accept"``, ``"update"`` (``None``: the whole step); run views take ``(trace)``; the row story
takes ``(trace, token=None)``. Layouts are computed, never random, and no figure carries a uid,
so the figure JSON is deterministic. Views never import torch and never call ``display()``.
Colours come from :mod:`trviz.scheme`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import plotly.graph_objects as go

from trviz.acceptance_stats import acceptance_text
from trviz.describe import check_stage, require_full
from trviz.recycling import recycling_text, row_story_text, treasure
from trviz.text import run_text, step_text, tree_text
from trviz.trace import Trace
from trviz.views.acceptance import acceptance_figure
from trviz.views.mask import mask_figure, mask_panel
from trviz.views.matrix import matrix_figure, matrix_panel
from trviz.views.recycling import recycling_figure, row_story_figure
from trviz.views.stats import accepted_figure, mat_figure, speed_figure
from trviz.views.text_panel import text_figure, text_panel
from trviz.views.tree import tree_figure, tree_panel


@dataclass(frozen=True)
class View:
    """One view's contract."""

    name: str
    figure: Callable[..., go.Figure]
    takes: str  # "step": (trace, step, stage); "trace": (trace); "row": (trace, token)
    twin: Callable[..., str]  # the text twin, same arguments (stage aside)
    summary: str
    hover: str | None = None  # name of the plotly trace whose hover the Player follows
    replay: bool = False  # a panel of trviz.animate (and the staged replay page)
    needs_full: bool = True  # needs record="full"


def _gen_text(trace: Trace) -> str:
    return str(trace.meta.get("text") or "")


def _row_twin(trace: Trace, token: int | None = None) -> str:
    if token is None:
        ranked = treasure(trace)
        token = ranked[0][0] if ranked else trace.steps[0].root
    return row_story_text(trace, token)


VIEWS: dict[str, View] = {
    v.name: v
    for v in (
        View("tree", tree_figure, "step", tree_text, "the draft tree, stage by stage",
             hover="nodes", replay=True),
        View("matrix", matrix_figure, "step", step_text, "matrix rows read and rewritten",
             hover="matrix rows", replay=True),
        View("mask", mask_figure, "step", tree_text, "the tree attention mask", replay=True),
        View("text", text_figure, "trace", _gen_text, "the generated text by step",
             replay=True, needs_full=False),
        View("recycling", recycling_figure, "trace", recycling_text,
             "where accepted drafts came from"),
        View("row", row_story_figure, "row", _row_twin, "one matrix row's story"),
        View("acceptance", acceptance_figure, "trace", acceptance_text,
             "acceptance by depth and rank"),
        View("accepted", accepted_figure, "trace", run_text, "accepted length per step",
             needs_full=False),
        View("mat", mat_figure, "trace", run_text, "MAT over time", needs_full=False),
        View("speed", speed_figure, "trace", run_text, "tokens vs seconds", needs_full=False),
    )
}  # fmt: skip


def render(
    name: str,
    trace: Trace,
    step: int | None = None,
    stage: str | None = None,
    token: int | None = None,
    **size: int,
) -> go.Figure:
    """The figure of view ``name`` (a :data:`VIEWS` key) for ``trace``: at ``step``/``stage``
    for step views (default: the first step), of row ``token`` for the row story."""
    if name not in VIEWS:
        raise ValueError(f"unknown view {name!r}; choose from {', '.join(VIEWS)}")
    view = VIEWS[name]
    if view.needs_full:
        require_full(trace, f"the {name} view")
    if view.takes == "step":
        return view.figure(trace, trace.steps[0].step if step is None else step,
                           check_stage(stage), **size)  # fmt: skip
    if view.takes == "row":
        return view.figure(trace, token, **size)
    return view.figure(trace, **size)


def hover_trace(fig: go.Figure, name: str) -> int | None:
    """Index in ``fig.data`` of the trace carrying view ``name``'s hover (None: no hover)."""
    wanted = VIEWS[name].hover
    return next((i for i, t in enumerate(fig.data) if wanted and t.name == wanted), None)


__all__ = [
    "VIEWS", "View", "render", "hover_trace", "tree_figure", "matrix_figure", "mask_figure",
    "text_figure", "accepted_figure", "mat_figure", "speed_figure", "recycling_figure",
    "row_story_figure", "acceptance_figure", "tree_panel", "matrix_panel", "mask_panel",
    "text_panel",
]  # fmt: skip
