"""The adjacency-matrix rows one step touched, stage by stage.

One heatmap row per matrix row, numbered as in the tree panel (row 1 is the row the root read;
path rows first, with green numbers, then the other rows read in tree order, then rows only
rewritten), one column per candidate rank. Before the update the cells show the row as the step
read it: the candidates that became tree nodes are coloured (``verify`` adds whether that node
matched the model's pick, ``accept`` colours the ones accepted); a never-written row is marked as
such. When a per-step budget chose the tree, the entries that became candidates it pruned are
grey before ``update``. At ``update`` the cells show the row after the step, a changed cell
(blue) as ``old`` above ``→new``. Colours come from :mod:`trviz.scheme`.
"""

from __future__ import annotations

import plotly.graph_objects as go

from trviz.describe import Row, StepStory, check_stage, describe_step
from trviz.scheme import FAINT, INK, LOOKS, WHITE
from trviz.text import caption, token_label
from trviz.trace import Trace
from trviz.views._panel import MONO, Panel, staged_figure

# cell code -> the look that colours it (a discrete colour scale over the codes)
CELLS = ("plain", "read", "accepted", "placeholder", "rewritten", "unread")
_FILLS = {"plain": WHITE, "unread": FAINT}
CELL_PX = 5.6  # advance of one 9 px monospace character
LEGEND = ("read", "accepted", "placeholder", "rewritten")


def _cells(story: StepStory) -> tuple[str, ...]:
    """The cell codes of a step: :data:`CELLS`, plus ``"pruned"`` when a budget chose its tree
    (so the colours of traces without one stay as they were)."""
    return CELLS + ("pruned",) if story.budget is not None else CELLS


def _pruned_ranks(story: StepStory, row: Row) -> set[int]:
    """Columns of ``row`` that became candidates the budget pruned (drafted from the matrix)."""
    if story.budget is None:
        return set()
    tokens = {
        q.token
        for n in story.nodes
        if n.token == row.token
        for q in story.budget.heads(n.index)
        if not q.copied
    }
    return {r for r, t in enumerate(row.before) if t in tokens}


def _colorscale(cells: tuple[str, ...] = CELLS) -> list[list]:
    n = len(cells)
    scale = []
    for code, name in enumerate(cells):
        color = _FILLS.get(name) or LOOKS[name].fill
        scale += [[code / n, color], [(code + 1) / n, color]]
    return scale


def _codes(story: StepStory, row: Row, stage: str | None) -> list[int]:
    by_rank = {story.nodes[i].rank: story.nodes[i] for i in row.filled}
    pruned = _pruned_ranks(story, row)
    cells = _cells(story)
    codes = []
    for r in range(story.k):
        node = by_rank.get(r)
        if stage in ("update", None):
            code = "rewritten" if r in row.changed else "plain"
        elif any(story.nodes[i].origin == "placeholder" for i in row.filled):
            code = "placeholder"
        elif node is not None and node.token >= 0:
            code = "accepted" if node.accepted and stage not in ("draft", "verify") else "read"
        elif r in pruned:
            code = "pruned"
        else:
            code = "unread" if not row.readers and stage not in ("update", None) else "plain"
        codes.append(cells.index(code))
    return codes


def _texts(trace: Trace, story: StepStory, row: Row, stage: str | None, chars: int) -> list[str]:
    marks = {}
    if stage == "verify":
        for i in row.filled:
            node = story.nodes[i]
            if node.match is not None:
                look = LOOKS["match" if node.match else "mismatch"]
                marks[node.rank] = f"<span style='color:{look.color}'>{look.mark}</span>"
    out = []
    for r in range(story.k):
        old, new = row.before[r], row.after[r]
        if stage in ("update", None) and old != new:
            out.append(f"{token_label(trace, old, chars)}<br>→{token_label(trace, new, chars)}")
        else:
            shown = new if stage in ("update", None) else old
            out.append(token_label(trace, shown, chars - bool(marks.get(r))) + marks.get(r, ""))
    return out


def _hover(trace: Trace, story: StepStory, row: Row) -> list[str]:
    """Per cell: the row and column, the entry before -> after, the nodes drafted from it."""
    by_rank: dict[int, list[str]] = {}
    for i in row.filled:
        by_rank.setdefault(story.nodes[i].rank, []).append(str(i))
    head = f"row '{token_label(trace, row.token)}'"
    writer = "" if row.writer is None else f"<br>rewritten by node {row.writer}"
    pruned = _pruned_ranks(story, row)
    out = []
    for r in range(story.k):
        before, after = token_label(trace, row.before[r]), token_label(trace, row.after[r])
        entry = f"'{before}'" if before == after else f"'{before}' → '{after}'"
        nodes = by_rank.get(r)
        drafted = f"<br>drafted node {', '.join(nodes)}" if nodes else ""
        if not nodes and r in pruned:
            drafted = "<br>a candidate the budget pruned (never verified)"
        out.append(f"{head} col {r}: {entry}{drafted}{writer}")
    return out


def _ylabel(trace: Trace, number: int, row: Row, stage: str | None) -> str:
    """``"3 '␣the'"``: the row number the tree's nodes carry (green on the accepted path)."""
    color = LOOKS["accepted"].color if row.on_path else INK
    token = token_label(trace, row.token, 9)
    text = f"<b><span style='color:{color}'>{number}</span></b> '{token}'"
    if not row.never_written:
        return text
    return text + (" (first write)" if stage in ("update", None) else " (never written)")


def matrix_panel(
    trace: Trace,
    story: StepStory,
    stage: str | None = None,
    max_rows: int = 12,
    width_px: float = 560,
) -> Panel:
    """The rows of ``story`` at ``stage`` as a :class:`Panel`: at most ``max_rows`` rows (the
    rows that matter first), padded with blank rows so the height never changes."""
    shown = story.rows[:max_rows]
    chars = max(3, int(width_px / story.k / CELL_PX) - 1)
    z, text, hover, labels = [], [], [], []
    for number, row in enumerate(shown, start=1):
        z.append(_codes(story, row, stage))
        text.append(_texts(trace, story, row, stage, chars))
        hover.append(_hover(trace, story, row))
        labels.append(_ylabel(trace, number, row, stage))
    for pad in range(max_rows - len(shown)):
        z.append([None] * story.k)
        text.append([""] * story.k)
        hover.append([""] * story.k)
        labels.append(" " * (pad + 1))
    heat = dict(
        type="heatmap", z=z, x=list(range(story.k)), y=list(range(max_rows)), text=text,
        hovertext=hover, texttemplate="%{text}", textfont=dict(family=MONO, size=9),
        hoverinfo="text", colorscale=_colorscale(_cells(story)), zmin=0,
        zmax=len(_cells(story)), showscale=False,
        xgap=1, ygap=1, name="matrix rows",
    )  # fmt: skip
    more = f" · {len(shown)} of {len(story.rows)} shown" if len(story.rows) > max_rows else ""
    title = f"matrix rows · {len(story.rows)} touched (path rows: green numbers){more}"
    xaxis = dict(range=[-0.5, story.k - 0.5], tickvals=list(range(story.k)), fixedrange=True,
                 showgrid=False, title_text="rank (column of the row)")  # fmt: skip
    yaxis = dict(range=[max_rows - 0.5, -0.5], tickvals=list(range(max_rows)), ticktext=labels,
                 tickfont=dict(family=MONO, size=10), fixedrange=True, showgrid=False)  # fmt: skip
    return Panel(title, [heat], xaxis, yaxis)


def matrix_figure(
    trace: Trace,
    step: int,
    stage: str | None = None,
    max_rows: int = 12,
    width: int = 760,
    height: int = 560,
) -> go.Figure:
    """The matrix rows step ``step`` read (to draft its tree) and rewrote (old → new) at
    ``stage`` (``None``: after the whole step); row numbers match the tree's numbered nodes."""
    story = describe_step(trace, step)
    check_stage(stage)
    panel = matrix_panel(trace, story, stage, max_rows, width - 200)
    legend = LEGEND + (("pruned",) if story.budget is not None else ())
    return staged_figure(panel, caption(trace, story, stage), legend, (width, height), 170, -0.17)
