"""``trviz.Player(trace)``: live drill-down of a trace in a running kernel (ipywidgets).

Controls: Play and a step slider (linked in the browser), a panel choice (tree, matrix rows,
mask, text), and a row inspector. Hover a tree node or a matrix row to see that matrix row's
history across the run (every step that read or rewrote it), or pick a row in the box.
Python callbacks redraw the panel, so this needs a live kernel; for a page without a kernel use
``trviz.animate`` or ``trviz.to_html``. Hover needs plotly's FigureWidget, which needs the
``anywidget`` package; without it the panel is a plain figure and the row box still works.
"""

from __future__ import annotations

import html
from typing import Any

import ipywidgets as widgets
import plotly.graph_objects as go
from IPython.display import display

from trviz.text import step_text, token_label
from trviz.trace import Trace
from trviz.views import mask_figure, matrix_figure, text_figure, tree_figure
from trviz.views.matrix import touched_rows

PANELS = ("tree", "matrix", "mask", "text")
MAX_EVENTS = 24


def row_history_html(trace: Trace, token: int, upto: int | None = None) -> str:
    """An HTML table of every read and rewrite of matrix row ``token`` (up to step ``upto``)."""
    events = [e for e in trace.row_history(token) if upto is None or e.step <= upto]
    head = f"<b>row '{html.escape(token_label(trace, token))}'</b> (id {token}): "
    if not events:
        return head + "not touched" + (f" up to step {upto}" if upto is not None else "")
    rows = []
    for e in events[-MAX_EVENTS:]:
        cells = " ".join(token_label(trace, t, 8) for t in e.row)
        if e.kind == "write":
            cells = f"{cells} → {' '.join(token_label(trace, t, 8) for t in e.new)}"
        rows.append(
            f"<tr><td>{e.step}</td><td>{e.kind}</td>"
            f"<td style='font-family:monospace'>{html.escape(cells)}</td></tr>"
        )
    more = f" (last {MAX_EVENTS} of {len(events)})" if len(events) > MAX_EVENTS else ""
    return (
        head + f"{len(events)} events{more}<table><tr><th>step</th><th>what</th>"
        "<th>row</th></tr>" + "".join(rows) + "</table>"
    )


class Player:
    """Step through a full trace in a live kernel; display it by leaving it last in a cell."""

    def __init__(
        self, trace: Trace, panel: str = "tree", step: int | None = None, interval_ms: int = 900
    ):
        if trace.level != "full":
            raise ValueError("Player needs a trace recorded with generate(..., record='full')")
        if panel not in PANELS:
            raise ValueError(f"panel must be one of {PANELS}, got {panel!r}")
        self.trace = trace
        first, last = trace.steps[0].step, trace.steps[-1].step
        self.play = widgets.Play(min=first, max=last, interval=interval_ms, description="play")
        self.slider = widgets.IntSlider(
            min=first,
            max=last,
            value=first if step is None else step,
            description="step",
            continuous_update=False,
        )
        widgets.jslink((self.play, "value"), (self.slider, "value"))
        self.panel = widgets.ToggleButtons(options=PANELS, value=panel)
        rows = sorted({t for rec in trace for t in touched_rows(rec)})
        self._row_ids = {f"{token_label(trace, t)} ({t})": t for t in rows}
        self.row = widgets.Combobox(
            options=list(self._row_ids), placeholder="inspect a row", ensure_option=True
        )
        self.summary = widgets.HTML()
        self.history = widgets.HTML("<i>hover a tree node or a matrix row</i>")
        self.figure_box = widgets.Box()
        self.figure: go.FigureWidget | None = None
        self.slider.observe(lambda _: self.refresh(), "value")
        self.panel.observe(lambda _: self.refresh(), "value")
        self.row.observe(self._on_row_pick, "value")
        side = widgets.VBox(
            [self.summary, self.row, self.history], layout=widgets.Layout(width="420px")
        )
        self.widget = widgets.VBox(
            [
                widgets.HBox([self.play, self.slider, self.panel]),
                widgets.HBox([self.figure_box, side]),
            ]
        )
        self.refresh()

    @property
    def step(self) -> int:
        return self.slider.value

    def _figure(self) -> go.Figure:
        name, step = self.panel.value, self.step
        if name == "tree":
            return tree_figure(self.trace, step, width=720, height=560)
        if name == "matrix":
            return matrix_figure(self.trace, step, width=720, height=560)
        if name == "mask":
            return mask_figure(self.trace, step, width=640, height=640)
        return text_figure(self.trace, upto=step, width=720)

    def refresh(self) -> None:
        """Redraw the chosen panel and the step summary for the slider's step."""
        try:
            fig = go.FigureWidget(self._figure())
        except ImportError:  # plotly's FigureWidget needs anywidget: no hover, static figure
            self.figure = None
            out = widgets.Output()
            with out:
                display(self._figure())
            self.figure_box.children = (out,)
        else:
            if self.panel.value == "tree":
                fig.data[3].on_hover(self._on_tree_hover)
            elif self.panel.value == "matrix":
                fig.data[0].on_hover(self._on_matrix_hover)
            self.figure = fig
            self.figure_box.children = (fig,)
        text = step_text(self.trace, self.step)
        self.summary.value = f"<pre style='font-size:11px'>{html.escape(text)}</pre>"

    def inspect_row(self, token: int) -> str:
        """Show (and return) the history of matrix row ``token`` up to the current step."""
        self.history.value = row_history_html(self.trace, token, upto=self.step)
        return self.history.value

    def _on_row_pick(self, change: dict[str, Any]) -> None:
        if change["new"] in self._row_ids:
            self.inspect_row(self._row_ids[change["new"]])

    def _on_tree_hover(self, _trace, points, _state) -> None:
        if points.point_inds:
            token = self.trace.by_step(self.step).tokens[points.point_inds[0]]
            if token >= 0:
                self.inspect_row(token)

    def _on_matrix_hover(self, _trace, points, _state) -> None:
        if points.point_inds:
            ind = points.point_inds[0]
            y = ind[0] if isinstance(ind, (list, tuple)) else ind
            rows = touched_rows(self.trace.by_step(self.step))
            if 0 <= y < len(rows):
                self.inspect_row(rows[y])

    def _repr_mimebundle_(self, **kwargs: Any):
        return self.widget._repr_mimebundle_(**kwargs)
