"""``trviz.Player(trace)``: live drill-down of a trace in a running kernel (ipywidgets).

Controls: Play and a step slider (linked in the browser), a stage choice beside them (draft,
verify, accept, update, or the whole step), a view choice (every view of
:data:`trviz.views.VIEWS`), "show every node" (unfolds the tree's rejected subtrees), and a row
inspector: hover a tree node or a matrix row, or pick a row in the box, to see that row's story
(every version of the row, who wrote it, what it drafted) up to the current step.
Python callbacks redraw the view, so this needs a live kernel; for a page without a kernel use
``trviz.animate`` or ``trviz.to_html``. Hover needs plotly's FigureWidget, which needs the
``anywidget`` package; without it the view is a plain figure and the row box still works.
"""

from __future__ import annotations

import base64
import html
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
import plotly.io as pio
from IPython.display import display

from trviz.describe import STAGES, describe_step, require_full
from trviz.recycling import story_lines, treasure, versions_of, walk
from trviz.text import stage_text, step_text, token_label
from trviz.trace import Trace
from trviz.views import VIEWS, hover_trace, render

WHOLE = "whole step"
SIZES = {"tree": dict(width=760), "mask": dict(width=640, height=640)}


class Player:
    """Step through a full trace in a live kernel; display it by leaving it last in a cell."""

    def __init__(
        self,
        trace: Trace,
        view: str = "tree",
        step: int | None = None,
        stage: str | None = "accept",
        interval_ms: int = 900,
    ):
        require_full(trace, "Player")
        if view not in VIEWS:
            raise ValueError(f"view must be one of {tuple(VIEWS)}, got {view!r}")
        self.trace = trace
        first, last = trace.steps[0].step, trace.steps[-1].step
        self.play = widgets.Play(min=first, max=last, interval=interval_ms, description="play")
        self.slider = widgets.IntSlider(min=first, max=last, value=first if step is None else step,
                                        description="step", continuous_update=False)  # fmt: skip
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.stage = widgets.ToggleButtons(options=(*STAGES, WHOLE), value=stage or WHOLE)
        self.view = widgets.Dropdown(options=list(VIEWS), value=view, description="view")
        self.expand = widgets.Checkbox(value=False, description="show every node")
        rows = sorted({r.token for rec in trace for r in describe_step(trace, rec.step).rows})
        self._row_ids = {f"{token_label(trace, t)} ({t})": t for t in rows}
        self.row = widgets.Combobox(options=list(self._row_ids), placeholder="inspect a row",
                                    ensure_option=True)  # fmt: skip
        ranked = treasure(trace)
        self.token = ranked[0][0] if ranked else trace.steps[0].root
        self.summary = widgets.HTML()
        self.history = widgets.HTML()
        self.figure_box = widgets.Box()
        self.figure: go.FigureWidget | None = None
        self._walked: list | None = None
        for control in (self.slider, self.stage, self.view, self.expand):
            control.observe(lambda _: self.refresh(), "value")
        self.row.observe(self._on_row_pick, "value")
        side = widgets.VBox([self.summary, self.row, self.history],
                            layout=widgets.Layout(width="440px"))  # fmt: skip
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.play, self.slider, self.stage]),
                widgets.HBox([self.view, self.expand]),
                widgets.HBox([self.figure_box, side]),
            ]
        )
        self.refresh()

    @property
    def step(self) -> int:
        return self.slider.value

    @property
    def current_stage(self) -> str | None:
        return None if self.stage.value == WHOLE else self.stage.value

    def _figure(self) -> go.Figure:
        name = self.view.value
        size = dict(SIZES.get(name, {}))
        if name == "tree":
            size["expand"] = self.expand.value
        return render(name, self.trace, self.step, self.current_stage, self.token, **size)

    def refresh(self) -> None:
        """Redraw the chosen view, the step summary and the row story for the current step."""
        try:
            fig = go.FigureWidget(self._figure())
        except ImportError:  # plotly's FigureWidget needs anywidget: no hover, static figure
            self.figure = None
            out = widgets.Output()
            with out:
                display(self._figure())
            self.figure_box.children = (out,)
        else:
            index = hover_trace(fig, self.view.value)
            if index is not None:
                fig.data[index].on_hover(self._on_hover)
            self.figure = fig
            self.figure_box.children = (fig,)
        caption = stage_text(self.trace, self.step, self.current_stage)
        text = caption + "\n\n" + step_text(self.trace, self.step)
        self.summary.value = f"<pre style='font-size:11px'>{html.escape(text)}</pre>"
        self._show_row()

    def inspect_row(self, token: int) -> str:
        """Show (and return) the story of matrix row ``token`` up to the current step."""
        self.token = token
        if self.view.value == "row":
            self.refresh()
        return self._show_row()

    def _show_row(self) -> str:
        if self._walked is None:  # every step's drafts and their origins, computed once
            self._walked = list(walk(self.trace))
        shown = (w for w in self._walked if w[0].step <= self.step)
        text = story_lines(self.trace, self.token, versions_of(shown, self.token))
        self.history.value = f"<pre style='font-size:11px'>{html.escape(text)}</pre>"
        return self.history.value

    def _on_row_pick(self, change: dict[str, Any]) -> None:
        if change["new"] in self._row_ids:
            self.inspect_row(self._row_ids[change["new"]])

    def _on_hover(self, trace, points, _state) -> None:
        """Tree: the hovered node's token; matrix: the hovered row."""
        if not points.point_inds:
            return
        story = describe_step(self.trace, self.step)
        if self.view.value == "tree":
            node = trace.customdata[points.point_inds[0]]
            token = story.nodes[node].token
        else:
            ind = points.point_inds[0]
            y = ind[0] if isinstance(ind, (list, tuple)) else ind
            token = story.rows[y].token if 0 <= y < len(story.rows) else -1
        if token >= 0:
            self.inspect_row(token)

    def _repr_mimebundle_(self, **kwargs: Any) -> dict[str, Any]:
        """The widget; plus a PNG of the current view when plotly's renderer asks for PNGs
        (``"plotly_mimetype+png"``, as the course sets up), so a saved notebook shows a picture
        where no kernel runs (GitHub, a JupyterLab that has not run it)."""
        bundle = dict(self.widget._repr_mimebundle_(**kwargs))
        if "png" in str(pio.renderers.default).split("+"):
            png = self._figure().to_image(format="png")
            bundle["image/png"] = base64.b64encode(png).decode("ascii")
        return bundle
