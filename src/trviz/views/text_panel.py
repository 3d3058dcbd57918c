"""The generated text, one box per token, coloured by the step that committed it.

Green boxes are drafted tokens the model accepted, purple ones accepted tokens copied from the
context (prompt lookup), orange boxes bonus tokens (the model's own pick after the accepted path:
one per step); colours from :mod:`trviz.scheme`. Shades alternate from step to step so step
boundaries show; whitespace is visible ('␣', '↵'). Hover a token for its step.
"""

from __future__ import annotations

from dataclasses import dataclass

import plotly.graph_objects as go

from trviz.scheme import INK, LOOKS, tint
from trviz.text import plural, token_label
from trviz.trace import Trace
from trviz.views._panel import MONO, Panel, figure, hidden_axis

GAP = 0.15  # horizontal gap between token boxes, in characters
KINDS = ("accepted", "copied", "bonus")


@dataclass(frozen=True)
class Placed:
    """A committed token and where it sits: line ``line``, columns ``x0..x1``."""

    token: int
    step: int
    kind: str  # "accepted", "copied", "bonus" ("pad": an invisible slot in a scrolled window)
    label: str
    line: int
    x0: float
    x1: float


def place_tokens(trace: Trace, width_chars: int = 72) -> list[Placed]:
    """Lay out every committed token in lines of about ``width_chars`` characters (a newline
    token ends its line). Deterministic: depends on the trace only."""
    placed: list[Placed] = []
    line, col = 0, 0.0
    for rec in trace:
        copied = {j for j, node in enumerate(rec.accepted) if node in (rec.lookup_nodes or ())}
        for j, tok in enumerate(rec.committed):
            label = token_label(trace, tok)
            if col > 0 and col + len(label) > width_chars:
                line, col = line + 1, 0.0
            kind = "bonus" if j >= len(rec.accepted) else "copied" if j in copied else "accepted"
            x1 = round(col + len(label), 2)
            placed.append(Placed(tok, rec.step, kind, label, line, col, x1))
            col = round(x1 + GAP, 2)
            if "\n" in trace.token_str(tok):
                line, col = line + 1, 0.0
    return placed


def _window_size(placed: list[Placed], max_lines: int) -> int:
    """The most tokens any ``max_lines`` consecutive lines hold."""
    per_line: dict[int, int] = {}
    for p in placed:
        per_line[p.line] = per_line.get(p.line, 0) + 1
    counts = [per_line.get(i, 0) for i in range(max(per_line, default=0) + 1)]
    return max((sum(counts[i : i + max_lines]) for i in range(len(counts))), default=0)


def _boxes(items: list[Placed]) -> tuple[list[float | None], list[float | None]]:
    xs: list[float | None] = []
    ys: list[float | None] = []
    for p in items:
        y0, y1 = p.line - 0.38, p.line + 0.38
        xs += [p.x0, p.x1, p.x1, p.x0, p.x0, None]
        ys += [y0, y0, y1, y1, y0, None]
    return xs, ys


def text_panel(
    trace: Trace,
    upto: int | None = None,
    width_chars: int = 72,
    max_lines: int | None = None,
    hover: bool = True,
    placed: list[Placed] | None = None,
) -> Panel:
    """The text committed up to step ``upto`` (all steps when ``None``) as a :class:`Panel`;
    the tokens of step ``upto`` are outlined. ``max_lines`` scrolls the view to the last
    lines written so far (the layout of the whole trace stays fixed). ``hover=False`` leaves
    out the per-token hover text (smaller animation frames); ``placed``: this trace's
    :func:`place_tokens` at ``width_chars``, when the caller already has it."""
    placed = place_tokens(trace, width_chars) if placed is None else placed
    last = trace.steps[-1].step if trace.steps else 0
    upto = last if upto is None else upto
    shown = [p for p in placed if p.step <= upto]
    n_lines = (placed[-1].line + 1) if placed else 1
    top = 0
    if max_lines is not None:  # keep only the visible lines: frames stay small on long runs
        current = max((p.line for p in shown), default=0)
        top = max(0, min(current - max_lines + 1, n_lines - max_lines))
        n_lines = top + max_lines
        slots = _window_size(placed, max_lines)
        placed = [p for p in placed if top <= p.line < n_lines]
        shown = [p for p in shown if top <= p.line < n_lines]
        # pad to a fixed point count: plotly's animate mislabels text when the count changes
        pad = Placed(-1, upto + 1, "pad", "", top, -2.0, -2.0)
        placed += [pad] * (slots - len(placed))
    traces: list[dict] = []
    for kind in KINDS:
        for parity, amount in ((0, 0.35), (1, 0.6)):
            color = tint(LOOKS[kind].color, amount)
            xs, ys = _boxes([p for p in shown if p.kind == kind and p.step % 2 == parity])
            traces.append(
                dict(type="scatter", x=xs, y=ys, fill="toself", fillcolor=color, mode="lines",
                     line=dict(width=0, color=color), hoverinfo="skip",
                     name=f"{kind} tokens" + " (alternate steps)" * parity)
            )  # fmt: skip
    xs, ys = _boxes([p for p in shown if p.step == upto])
    traces.append(
        dict(type="scatter", x=xs, y=ys, mode="lines", hoverinfo="skip", name="this step",
             line=dict(color=LOOKS["current"].color, width=1.5))
    )  # fmt: skip
    traces.append(
        dict(
            type="scatter",
            x=[(p.x0 + p.x1) / 2 for p in placed],
            y=[p.line for p in placed],
            mode="text",
            text=[p.label if p.step <= upto else "" for p in placed],
            textfont=dict(family=MONO, size=12, color=INK),
            hovertext=[
                f"'{p.label}' · step {p.step} · {p.kind}" if p.step <= upto else "" for p in placed
            ]
            if hover
            else None,
            hoverinfo="text" if hover else "skip",
            name="tokens",
        )
    )
    n_tokens = sum(len(r.committed) for r in trace if r.step <= upto)
    title = (
        f"generated text · {plural(n_tokens, 'token')} in "
        f"{plural(sum(1 for r in trace if r.step <= upto), 'step')} (green: accepted drafts, "
        "purple: copied from the context, orange: bonus)"
    )
    return Panel(
        title,
        traces,
        hidden_axis(-0.5, width_chars + 0.5),
        hidden_axis(top - 0.6, n_lines - 0.4, reversed_=True),
    )


CHAR_PX = 7.4  # width of one character of the 12 px monospace font, plus a little air


def chars_for(plot_px: float) -> int:
    """How many characters of token text fit on a line ``plot_px`` pixels wide."""
    return max(20, int(plot_px / CHAR_PX))


def text_figure(
    trace: Trace, upto: int | None = None, width_chars: int | None = None, width: int = 900
) -> go.Figure:
    """The generated text coloured by step: accepted drafts (green) vs bonus tokens (orange).
    ``width_chars`` defaults to what fits in ``width`` pixels."""
    panel = text_panel(trace, upto, width_chars or chars_for(width - 80))
    lines = max(1, int(panel.yaxis["range"][0] - panel.yaxis["range"][1] + 0.2))
    return figure(panel, width, 110 + 26 * lines)
