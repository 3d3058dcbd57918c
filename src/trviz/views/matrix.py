"""The adjacency-matrix rows one step touched: read to draft the tree, rewritten by the update.

One heatmap row per matrix row (labelled by its token), one column per candidate rank. Cells show
the row after the step; a changed cell shows ``old`` above ``→new``. Colours: drafted (the
candidate became a tree node this step), changed by the update, both, or neither.
"""

from __future__ import annotations

import plotly.graph_objects as go

from trviz.text import token_label
from trviz.trace import StepRecord, Trace
from trviz.views._panel import MONO, Panel, figure

# cell code -> (meaning, colour); a discrete colour scale over codes 0..3
CELL_KINDS = (
    ("unchanged", "#ffffff"),
    ("drafted (a tree node)", "#c6dbef"),
    ("rewritten", "#fdd49e"),
    ("drafted and rewritten", "#f4a261"),
)


LEGEND = "  ".join(f"<span style='color:{color}'>■</span> {name}" for name, color in CELL_KINDS[1:])


def _colorscale() -> list[list]:
    n = len(CELL_KINDS)
    scale = []
    for code, (_, color) in enumerate(CELL_KINDS):
        scale += [[code / n, color], [(code + 1) / n, color]]
    return scale


def touched_rows(rec: StepRecord) -> list[int]:
    """Row tokens in display order: rows on the accepted path, the other rows read (tree order),
    then rows only rewritten whose content changed."""
    path_tokens = [rec.tokens[i] for i in (0, *rec.accepted)]
    read_order = [rec.tokens[i] for i in range(len(rec.tokens)) if rec.tokens[i] in rec.rows_read]
    changed = [w.token for w in rec.rows_written if w.old != w.new]
    order: list[int] = []
    for tok in (*path_tokens, *read_order, *changed):
        if tok >= 0 and tok not in order and (tok in rec.rows_read or tok in changed):
            order.append(tok)
    return order


def _row_cells(rec: StepRecord, token: int, k: int) -> tuple[list[int], list[int], list[int]]:
    """(before, after, codes) of one row."""
    written = {w.token: w for w in rec.rows_written}
    if token in written:
        before, after = list(written[token].old), list(written[token].new)
    else:
        before = list(rec.rows_read[token])
        after = before
    drafted_ranks = {
        rec.ranks[i]
        for i in range(1, len(rec.tokens))
        if rec.tokens[rec.parents[i]] == token and rec.tokens[i] >= 0
    }
    codes = [
        (1 if r in drafted_ranks and token in rec.rows_read else 0)
        + (2 if before[r] != after[r] else 0)
        for r in range(k)
    ]
    return before, after, codes


def _cell(trace: Trace, before: int, after: int, width: int) -> str:
    """A cell's text: the candidate, or ``old`` above ``→new`` when the update changed it."""
    new = token_label(trace, after, width)
    return new if before == after else f"{token_label(trace, before, width)}<br>→{new}"


def matrix_panel(trace: Trace, step: int, max_rows: int = 14, label_width: int = 7) -> Panel:
    """The rows step ``step`` read and rewrote as a :class:`Panel`; at most ``max_rows`` rows
    (the accepted path's rows first), padded with blank rows so the height never changes."""
    rec = trace.by_step(step)
    if not rec.is_full:
        raise ValueError(f"step {step} has no rows: record with generate(..., record='full')")
    k = int(trace.meta.get("config", {}).get("k") or len(next(iter(rec.rows_read.values()))))
    rows = touched_rows(rec)
    shown = rows[:max_rows]
    z, text, hover, ylabels = [], [], [], []
    path_tokens = {rec.tokens[i] for i in (0, *rec.accepted)}
    for tok in shown:
        before, after, codes = _row_cells(rec, tok, k)
        z.append(codes)
        text.append([_cell(trace, b, a, label_width) for b, a in zip(before, after, strict=True)])
        hover.append(
            [
                f"row '{token_label(trace, tok)}' · column {r}<br>before: '{token_label(trace, b)}'"
                f"<br>after: '{token_label(trace, a)}'<br>{CELL_KINDS[c][0]}"
                for r, (b, a, c) in enumerate(zip(before, after, codes, strict=True))
            ]
        )
        mark = "✓ " if tok in path_tokens else ""
        ylabels.append(f"{mark}{token_label(trace, tok, 10)}")
    for pad in range(max_rows - len(shown)):
        z.append([None] * k)
        text.append([""] * k)
        hover.append([""] * k)
        ylabels.append(" " * (pad + 1))
    heat = go.Heatmap(
        z=z,
        x=list(range(k)),
        y=list(range(max_rows)),
        text=text,
        hovertext=hover,
        texttemplate="%{text}",
        textfont=dict(family=MONO, size=9),
        hoverinfo="text",
        colorscale=_colorscale(),
        zmin=0,
        zmax=len(CELL_KINDS),
        showscale=False,
        xgap=1,
        ygap=1,
        name="matrix rows",
    )
    more = f" · first {max_rows} of {len(rows)} rows" if len(rows) > max_rows else ""
    title = (
        f"matrix rows · {len(rec.rows_read)} read · "
        f"{sum(w.old != w.new for w in rec.rows_written)} changed"
    )
    xaxis = dict(
        range=[-0.5, k - 0.5],
        tickvals=list(range(k)),
        title_text=f"rank (matrix column){more}<br>{LEGEND}",
        fixedrange=True,
        showgrid=False,
    )
    yaxis = dict(
        range=[max_rows - 0.5, -0.5],
        tickvals=list(range(max_rows)),
        ticktext=ylabels,
        tickfont=dict(family=MONO, size=10),
        fixedrange=True,
        showgrid=False,
    )
    return Panel(title, [heat], xaxis, yaxis)


def matrix_figure(
    trace: Trace, step: int, max_rows: int = 14, width: int = 760, height: int = 560
) -> go.Figure:
    """The matrix rows step ``step`` read (to draft its tree) and rewrote (old → new), changed
    cells coloured; ``✓`` marks rows of tokens on the accepted path."""
    return figure(matrix_panel(trace, step, max_rows), width, height)
