"""The draft tree of one step, stage by stage: draft -> verify -> accept -> update.

Layout (deterministic): depth runs left to right, leaves are stacked top to bottom in rank order
and every parent sits between its first and last child. The bonus token gets its own slot in the
middle of the deepest accepted node's children, level with that node, so it sits right beside it
(it *is* the token that follows it) and its short edge crosses nothing. Slots are at least
:data:`ROW_PX` pixels apart; when a tree has more leaves than fit, rejected subtrees are folded
into their root, whose label shows ``+N`` (largest first), and then the highest-ranked rejected
children of the path into one ``+N more`` slot: labels never overlap. ``expand=True`` draws
every node.

When a per-step budget chose the tree, the candidates it pruned hang faintly off their parents at
every stage (open dotted markers, dotted edges, grey labels; copied ones as squares): each pruned
candidate whose parent was verified gets a slot, the pruned candidates under it are counted in its
label (``+N``). They are folded first when slots run short: a parent's pruned candidates into one
``+N pruned`` slot. At the draft stage the end of each verified copied chain says the match length
where its column has room (the title always does).

Stages: ``draft`` colours nodes by origin (drafted from a row, copied from the context,
placeholder, empty) and numbers the nodes whose matrix row was read (the same numbers label the
rows in the matrix panel); ``verify`` prints the model's pick after every node and a ✓/✗ mark
(does the node match its parent's pick?); ``accept`` colours the accepted path and places the
bonus; ``update`` numbers the nodes whose logits rewrote a numbered row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import plotly.graph_objects as go

from trviz.describe import Node, Pruned, StepStory, check_stage, describe_step
from trviz.scheme import BLACK, DARK, EDGE, INK, LOOKS, MUTED, WHITE, tint
from trviz.text import caption, choice_word, plural, stop_words, token_label
from trviz.trace import Trace
from trviz.views._panel import MONO, Panel, hidden_axis, staged_figure

ROW_PX = 15  # vertical pixels per slot at least: 10 px labels never touch
MAX_ROW_PX = 26  # and at most: small trees stay compact, drawn from the top
CHAR_PX = 6.2  # advance of one 10 px DejaVu Sans Mono character (a little air included)
LEGEND = ("root", "drafted", "copied", "placeholder", "empty", "accepted", "rejected", "bonus")


@dataclass(frozen=True)
class Layout:
    """Where each visible node sits, what is folded, and the bonus slot."""

    xy: dict[int, tuple[float, float]]
    folded: dict[int, int]  # node -> descendants hidden under it
    more: dict[int, tuple[tuple[int, ...], float]]  # parent -> (children hidden, slot y)
    bonus_xy: tuple[float, float]
    slots: int
    pruned_more: dict[int, tuple[tuple[int, ...], float]]  # parent -> (pruned hidden, slot y)


def _pruned_heads(story: StepStory, i: int) -> tuple[int, ...]:
    """The pruned candidates hanging directly off verified node ``i`` (none without a budget)."""
    return tuple(q.index for q in story.budget.heads(i)) if story.budget is not None else ()


def _subtree(story: StepStory, i: int) -> int:
    return sum(1 + _subtree(story, c) for c in story.nodes[i].children)


def _place(
    story: StepStory,
    folded: dict[int, int],
    more: dict[int, tuple[int, ...]],
    pruned_more: frozenset[int] = frozenset(),
) -> Layout:
    xy: dict[int, tuple[float, float]] = {}
    more_y: dict[int, tuple[tuple[int, ...], float]] = {}
    pruned_y: dict[int, tuple[tuple[int, ...], float]] = {}
    bonus: list[tuple[float, float]] = []
    slot = 0
    size = len(story.nodes)

    def visit(i: int) -> float:
        nonlocal slot
        if i >= size:  # a pruned candidate: one slot, what is under it counted in its label
            xy[i] = (float(story.budget.get(i).depth), float(slot))
            slot += 1
            return xy[i][1]
        node = story.nodes[i]
        ys: list[float] = []
        kids = [] if i in folded else [c for c in node.children if c not in more.get(i, ())]
        heads = () if i in folded else _pruned_heads(story, i)
        shown = list(kids) + ([] if i in pruned_more else list(heads))
        for j, c in enumerate(shown + [None]):
            if i == story.best and j == len(kids) // 2:  # the bonus: beside its node
                bonus.append((node.depth + 1.0, float(slot)))
                ys.append(float(slot))
                slot += 1
            if c is not None:
                ys.append(visit(c))
        for hidden, into in ((more.get(i), more_y), (heads if i in pruned_more else (), pruned_y)):
            if hidden:
                into[i] = (tuple(hidden), float(slot))
                ys.append(float(slot))
                slot += 1
        if not ys:
            ys.append(float(slot))
            slot += 1
        xy[i] = (float(node.depth), (ys[0] + ys[-1]) / 2)
        if i == story.best:  # level with the bonus, so the path runs straight into it
            xy[i] = (xy[i][0], bonus[0][1])
        return xy[i][1]

    visit(0)
    return Layout(xy, dict(folded), more_y, bonus[0], slot, pruned_y)


@lru_cache(maxsize=256)
def _fold(story: StepStory, max_slots: int | None) -> Layout:
    folded: dict[int, int] = {}
    more: dict[int, tuple[int, ...]] = {}
    lay = _place(story, folded, more)
    if max_slots is None:
        return lay
    crowded = sorted(
        (i for i in range(len(story.nodes)) if len(_pruned_heads(story, i)) > 1),
        key=lambda i: (-len(_pruned_heads(story, i)), i),
    )
    pruned_more: frozenset[int] = frozenset()
    for i in crowded:  # pruned candidates fold first: a parent's into one "+N pruned" slot
        if lay.slots <= max_slots:
            return lay
        pruned_more |= {i}
        lay = _place(story, folded, more, pruned_more)
    rejected = [n.index for n in story.nodes if not n.accepted and n.children]
    for i in sorted(rejected, key=lambda i: (-_subtree(story, i), i)):
        if lay.slots <= max_slots:
            return lay
        if i in lay.xy:
            folded[i] = _subtree(story, i)
            lay = _place(story, folded, more, pruned_more)
    for _ in range(len(story.nodes)):
        if lay.slots <= max_slots:
            break
        crowd = [
            (sum(1 for c in story.nodes[p].children if c not in more.get(p, ())), p)
            for p in story.path
        ]
        count, parent = max(crowd)
        if count <= 1:
            break
        shown = [c for c in story.nodes[parent].children if c not in more.get(parent, ())]
        victim = next(c for c in reversed(shown) if not story.nodes[c].accepted)
        more[parent] = (victim, *more.get(parent, ()))
        lay = _place(story, folded, more, pruned_more)
    return lay


def tree_layout(story: StepStory, height_px: float | None = None) -> Layout:
    """The :class:`Layout` of a step's tree in a plot ``height_px`` tall (``None``: no folding)."""
    max_slots = None if height_px is None else max(4, int(height_px // ROW_PX))
    return _fold(story, max_slots)


def _marker(story: StepStory, node: Node, stage: str | None) -> tuple[str, str]:
    """(fill colour, symbol) of a node: by origin before ``accept``, by outcome from it on."""
    symbol = LOOKS[node.origin].symbol if node.origin in ("copied", "placeholder") else "circle"
    if node.origin in ("root", "empty"):
        return LOOKS[node.origin].color, LOOKS[node.origin].symbol
    if stage in ("draft", "verify"):
        return LOOKS[node.origin].color, symbol
    return LOOKS["accepted" if node.accepted else "rejected"].color, symbol


def _mark(story: StepStory, node: Node) -> str:
    """✓/✗ coloured; grey under a rejected parent, where the outcome was already decided."""
    if node.match is None:
        return ""
    look = LOOKS["match" if node.match else "mismatch"]
    color = look.color if story.nodes[node.parent].accepted else MUTED
    return f" <span style='color:{color}'><b>{look.mark}</b></span>"


def _copy_note(story: StepStory, node: Node, stage: str | None, chars: int) -> tuple[str, int]:
    """(HTML, visible length) of the note ending a verified copied chain at the draft stage:
    ``copied (match 7)``, shortened to ``match 7`` where the column is narrow."""
    budget = story.budget
    if stage != "draft" or budget is None or not budget.match_len or node.origin != "copied":
        return "", 0
    if any(story.nodes[c].origin == "copied" for c in node.children):
        return "", 0  # not the chain's end
    for text in (f" copied (match {budget.match_len})", f" match {budget.match_len}"):
        if chars - len(text) >= 5:
            return f"<span style='color:{LOOKS['copied'].color}'>{text}</span>", len(text)
    return "", 0


def _label(
    trace: Trace, story: StepStory, node: Node, stage: str | None, chars: int, folded: int
) -> str:
    fold = f" +{folded}" if folded else ""
    if stage != "verify" or node.token < 0:
        note, n = _copy_note(story, node, stage, chars - len(fold))
        return token_label(trace, node.token, max(3, min(14, chars - n - len(fold)))) + fold + note
    mark = _mark(story, node)
    if folded:
        return token_label(trace, node.token, max(3, min(14, chars - 2 - len(fold)))) + mark + fold
    pick_w = max(3, min(12, (chars - 4) // 2))
    tok = token_label(trace, node.token, max(3, min(14, chars - 4 - pick_w)))
    pick = f" <span style='color:{DARK}'>→{token_label(trace, node.pick, pick_w)}</span>"
    return tok + mark + (pick if node.pick >= 0 else "")


def _hover(trace: Trace, story: StepStory, node: Node) -> str:
    token = f"'{token_label(trace, node.token)}'" + (
        f" (id {node.token})" if node.token >= 0 else ""
    )
    lines = [f"<b>node {node.index}</b> {token} · depth {node.depth}, rank {node.rank}"]
    origin = LOOKS[node.origin].label
    if node.origin in ("drafted", "placeholder", "empty"):
        parent = story.nodes[node.parent].token
        origin += f": row '{token_label(trace, parent)}' column {node.rank}"
    if node.origin == "copied" and story.budget is not None and story.budget.match_len:
        origin += f" after a {story.budget.match_len}-token match"
    if story.budget is not None and story.budget.p is not None:
        origin += f" · predicted P(accepted) {story.budget.p[node.index]:.2f}"
    lines.append(origin)
    if node.pick >= 0:
        lines.append(f"model {choice_word(trace)} after it: '{token_label(trace, node.pick)}'")
    else:
        lines.append("model sample after it: none drawn (the sampling walk never got here)")
    if node.index:
        verdict = {True: "✓ its parent's pick", False: "✗ not its parent's pick", None: ""}
        outcome = LOOKS["accepted" if node.accepted else "rejected"].label
        lines.append(" · ".join(filter(None, (verdict[node.match], outcome))))
    return "<br>".join(lines)


def _badges(story: StepStory, stage: str | None, max_rows: int) -> dict[int, int]:
    """node -> row number (1-based, as in the matrix panel) for the rows that are shown."""
    out: dict[int, int] = {}
    for number, row in enumerate(story.rows[:max_rows], start=1):
        nodes = (row.writer,) if stage == "update" and row.writer is not None else row.readers
        if stage == "update" and row.writer is None:
            nodes = ()
        for i in nodes:
            out.setdefault(i, number)
    return out


def _visible(label: str) -> int:
    """Characters a label shows (its HTML tags removed)."""
    return len(re.sub(r"<[^>]+>", "", label))


def _edges(
    story: StepStory, lay: Layout, ends: dict[int, float], nodes: tuple[int, ...]
) -> tuple[list, list]:
    """Polyline data from the end of each parent's label to each child's marker."""
    xs: list[float | None] = []
    ys: list[float | None] = []
    for i in nodes:
        parent = story.nodes[i].parent
        if i in lay.xy and parent in lay.xy:
            (_, y0), (x1, y1) = lay.xy[parent], lay.xy[i]
            xs += [ends[parent], x1, None]
            ys += [y0, y1, None]
    return xs, ys


def _bonus_trace(trace: Trace, story: StepStory, lay: Layout, stage: str | None) -> dict:
    shown = stage not in ("draft", "verify")
    look = LOOKS["bonus" if story.bonus_kept else "dropped"]
    label = token_label(trace, story.bonus, 14)
    if not story.bonus_kept:
        label += " dropped"
    return dict(
        type="scatter", x=[lay.bonus_xy[0]], y=[lay.bonus_xy[1]], mode="markers+text",
        name="bonus", textposition="middle right",
        marker=dict(size=14, symbol=look.symbol, color=look.color if shown else "rgba(0,0,0,0)",
                    line=dict(width=1.5 if shown else 0, color=look.color)),
        text=[f"<b>{label}</b>" if shown else ""], textfont=dict(family=MONO, size=10),
        hovertext=[f"<b>{look.word}</b><br>'{token_label(trace, story.bonus)}'"
                   + (f"<br>{stop_words(story.stop)}" if not story.bonus_kept else "")
                   if shown else ""],
        hoverinfo="text",
    )  # fmt: skip


def _node_traces(
    trace: Trace,
    story: StepStory,
    lay: Layout,
    stage: str | None,
    labels: dict[int, str],
    max_rows: int,
) -> list[dict]:
    shown = [story.nodes[i] for i in sorted(lay.xy) if i < len(story.nodes)]
    text = [labels[n.index] for n in shown]
    styles = [_marker(story, n, stage) for n in shown]
    badges = _badges(story, stage, max_rows)
    ring = LOOKS["rewritten" if stage == "update" else "read"].color
    nodes = dict(
        type="scatter", x=[lay.xy[n.index][0] for n in shown],
        y=[lay.xy[n.index][1] for n in shown], mode="markers+text", name="nodes",
        customdata=[n.index for n in shown], textposition="middle right",
        marker=dict(
            size=[17 if n.index in badges else 11 for n in shown],
            color=[s[0] for s in styles], symbol=[s[1] for s in styles],
            line=dict(width=[2.5 if n.index in badges else 1 for n in shown],
                      color=[ring if n.index in badges else DARK for n in shown]),
        ),
        text=text,
        textfont=dict(family=MONO, size=10, color=INK),
        hovertext=[_hover(trace, story, n) for n in shown], hoverinfo="text",
    )  # fmt: skip
    numbers = dict(
        type="scatter", x=nodes["x"], y=nodes["y"], mode="text", name="row numbers",
        text=[str(badges.get(n.index, "")) for n in shown], textposition="middle center",
        textfont=dict(family=MONO, size=9,
                      color=[WHITE if n.index == 0 else BLACK for n in shown]),
        hoverinfo="skip",
    )  # fmt: skip
    more = sorted(lay.more.items())
    folds = dict(
        type="scatter", mode="text", name="folded", textposition="middle right",
        x=[story.nodes[p].depth + 1.0 for p, _ in more], y=[y for _, (_, y) in more],
        text=[f"+{sum(1 + _subtree(story, c) for c in kids)} more" for _, (kids, _) in more],
        textfont=dict(family=MONO, size=10, color=DARK), hoverinfo="skip",
    )  # fmt: skip
    return [nodes, numbers, _bonus_trace(trace, story, lay, stage), folds]


def _wanted(story: StepStory, q: Pruned) -> bool:
    """Whether pruned candidate ``q`` is what the model picked after its (verified) parent."""
    return q.parent < len(story.nodes) and story.nodes[q.parent].pick == q.token


def _pruned_label(trace: Trace, story: StepStory, q: Pruned, stage: str | None, chars: int) -> str:
    """The token (``+N``: pruned candidates under it); from ``verify`` on, a ✓ marks the
    model's pick after its parent: the budget pruned a token the model wanted."""
    under = story.budget.under(q.index)
    fold = f" +{under}" if under else ""
    mark = ""
    if stage != "draft" and _wanted(story, q):  # grey under a rejected parent, as ✓/✗ are
        look = LOOKS["match"]
        color = look.color if story.nodes[q.parent].accepted else MUTED
        mark = f" <span style='color:{color}'><b>{look.mark}</b></span>"
    width = max(3, min(14, chars - len(fold) - 2 * bool(mark)))
    return token_label(trace, q.token, width) + mark + fold


def _pruned_hover(trace: Trace, story: StepStory, q: Pruned) -> str:
    origin = "copied from the context" if q.copied else "drafted from a matrix row"
    under = story.budget.under(q.index)
    lines = [
        f"<b>pruned</b> '{token_label(trace, q.token)}' (id {q.token}) · depth {q.depth}",
        f"{origin} · predicted P(accepted) {q.p:.2f}",
        "the budget left it out: never verified",
    ]
    if _wanted(story, q):
        lines.append(f"✓ the model's {choice_word(trace)} after its parent: it would have matched")
    if under:
        lines.append(f"{plural(under, 'more candidate')} under it, pruned too")
    return "<br>".join(lines)


def _pruned_traces(
    trace: Trace, story: StepStory, lay: Layout, labels: dict[int, str], ends: dict[int, float]
) -> list[dict]:
    """Dotted edges, faint open markers and grey labels of the pruned candidates, and the
    ``+N pruned`` slots: three traces, empty where the budget pruned nothing."""
    shown = [story.budget.get(i) for i in sorted(lay.xy) if i >= len(story.nodes)]
    xs: list[float | None] = []
    ys: list[float | None] = []
    for q in shown:
        xs += [ends[q.parent], lay.xy[q.index][0], None]
        ys += [lay.xy[q.parent][1], lay.xy[q.index][1], None]
    look = LOOKS["pruned"]
    copied = tint(LOOKS["copied"].color, 0.6)
    folds = sorted(lay.pruned_more.items())
    return [
        dict(type="scatter", x=xs, y=ys, mode="lines", name="pruned edges", hoverinfo="skip",
             line=dict(color=look.color, width=1, dash="dot")),
        dict(type="scatter", x=[lay.xy[q.index][0] for q in shown],
             y=[lay.xy[q.index][1] for q in shown], mode="markers+text", name="pruned",
             customdata=[q.index for q in shown], textposition="middle right",
             marker=dict(size=9, color=[copied if q.copied else look.color for q in shown],
                         symbol=["square-open-dot" if q.copied else look.symbol for q in shown],
                         line=dict(width=1)),
             text=[labels[q.index] for q in shown], textfont=dict(family=MONO, size=10,
                                                                 color=look.color),
             hovertext=[_pruned_hover(trace, story, q) for q in shown], hoverinfo="text"),
        dict(type="scatter", mode="text", name="pruned folded", textposition="middle right",
             x=[story.nodes[i].depth + 1.0 for i, _ in folds], y=[y for _, (_, y) in folds],
             text=[f"+{sum(1 + story.budget.under(q) for q in kids)} pruned"
                   for _, (kids, _) in folds],
             textfont=dict(family=MONO, size=10, color=look.color), hoverinfo="skip"),
    ]  # fmt: skip


def _title(story: StepStory, lay: Layout) -> str:
    hidden = sum(lay.folded.values()) + sum(
        1 + _subtree(story, c) for kids, _ in lay.more.values() for c in kids
    )
    title = f"draft tree · step {story.step} · {plural(len(story.nodes) - 1, 'node')}"
    if story.budget is not None:
        b = story.budget
        title += f" verified of {plural(b.candidates, 'candidate')}"
        title += f", {len(b.pruned)} pruned" if b.pruned else ""
        if b.match_len and b.copied:
            title += f" · copies after a {b.match_len}-token match"
    if hidden:
        title += f" ({hidden} folded under rejected nodes: +N)"
    return title


def tree_panel(
    trace: Trace,
    story: StepStory,
    stage: str | None = None,
    width_px: float = 700,
    height_px: float = 480,
    expand: bool = False,
    max_rows: int = 12,
    rows: int | None = None,
    depth: int | None = None,
) -> Panel:
    """The tree of ``story`` at ``stage`` as a :class:`Panel` for a plot area of
    ``width_px`` x ``height_px`` pixels. ``rows``/``depth`` fix the axes (an animation passes
    the largest over its steps); ``max_rows``: how many rows the matrix panel numbers."""
    lay = tree_layout(story, None if expand else height_px)
    depth = story.depth if depth is None else depth
    rows = max(lay.slots if rows is None else rows, int(height_px // MAX_ROW_PX))
    unit = width_px / (depth + 2.3)  # pixels per depth column
    chars = int(unit / CHAR_PX) - 2
    size = len(story.nodes)
    labels = {
        i: _label(trace, story, story.nodes[i], stage, chars, lay.folded.get(i, 0))
        if i < size else _pruned_label(trace, story, story.budget.get(i), stage, chars)
        for i in lay.xy
    }  # fmt: skip
    ends = {
        i: round(x + min(0.8, (_visible(labels[i]) * CHAR_PX + 12) / unit), 3)
        for i, (x, _) in lay.xy.items()
    }
    after = stage not in ("draft", "verify")
    ex, ey = _edges(story, lay, ends, tuple(i for i in lay.xy if i < size))
    px, py = _edges(story, lay, ends, story.path[1:]) if after else ([], [])
    best = lay.xy[story.best]
    bonus_line = dict(color=LOOKS["bonus"].color, width=2, dash="dash")
    traces = [
        dict(type="scatter", x=ex, y=ey, mode="lines", name="edges", hoverinfo="skip",
             line=dict(color=EDGE, width=1)),
        dict(type="scatter", x=px, y=py, mode="lines", name="accepted path", hoverinfo="skip",
             line=dict(color=LOOKS["accepted"].color, width=4)),
        dict(type="scatter", x=[ends[story.best], lay.bonus_xy[0]] if after else [],
             y=[best[1], lay.bonus_xy[1]] if after else [], mode="lines", name="bonus edge",
             hoverinfo="skip", line=bonus_line),
        *_node_traces(trace, story, lay, stage, labels, max_rows),
    ]  # fmt: skip
    if story.budget is not None:
        traces += _pruned_traces(trace, story, lay, labels, ends)
    return Panel(
        _title(story, lay),
        traces,
        xaxis=hidden_axis(-0.3, depth + 2.0),
        yaxis=hidden_axis(-0.7, max(rows, 1) - 0.3, reversed_=True),
    )


def tree_figure(
    trace: Trace,
    step: int,
    stage: str | None = None,
    expand: bool = False,
    width: int = 1000,
    height: int | None = None,
) -> go.Figure:
    """The draft tree of step ``step`` at ``stage`` (``"draft"``, ``"verify"``, ``"accept"``,
    ``"update"``; ``None``: the whole step). Hover a node for its token, origin, the row and
    column it came from, the model's pick after it and its outcome. ``expand=True`` unfolds
    every rejected subtree; ``height`` defaults to what the tree needs (at most 750 px)."""
    story = describe_step(trace, step)
    check_stage(stage)
    if height is None:  # as tall as the (folded) tree needs, at most 600 px of plot
        slots = tree_layout(story, None if expand else 600).slots
        height = 150 + int(min(600, max(170, slots * 22)))
    panel = tree_panel(trace, story, stage, width - 40, height - 150, expand)
    legend = LEGEND + (("pruned",) if story.budget is not None else ())
    return staged_figure(panel, caption(trace, story, stage), legend, (width, height))
