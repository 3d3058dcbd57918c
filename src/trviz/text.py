"""Text twins of the views: an ASCII draft tree, a one-screen step summary, a run summary.

They read a :class:`~trviz.trace.Trace` only, print the same facts the plotly views draw, and are
what tests, nbval-checked notebook cells and terminals compare. Steps are named by their step
number (``StepRecord.step``), so a sliced trace keeps its numbering. Stdlib only.
"""

from __future__ import annotations

from collections import Counter

from trviz.describe import BudgetStory, Node, StepStory, check_stage, describe_budget, describe_step
from trviz.metrics import PHASES
from trviz.scheme import LOOKS
from trviz.trace import Trace

VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}


def show_token(text: str, width: int | None = None) -> str:
    """A token's text with whitespace made visible (``'␣'`` space, ``'↵'`` newline, ``'⇥'`` tab),
    cut to ``width`` characters with ``'…'``; the empty string shows as ``'∅'``."""
    shown = "".join(VISIBLE.get(c, c) for c in text) or "∅"
    if width is not None and len(shown) > width:
        shown = shown[: max(width - 1, 0)] + "…"
    return shown


def token_label(trace: Trace, token: int, width: int | None = None) -> str:
    """``show_token`` of a token id, looked up in the trace's string table (``∅`` for -1)."""
    return show_token(trace.token_str(token), width) if token >= 0 else "∅"


def choice_word(trace: Trace) -> str:
    """What the model's pick at a node is called in this trace: ``"sample"`` or ``"argmax"``."""
    return "sample" if trace.meta.get("sampling") else "argmax"


def model_name(trace: Trace) -> str:
    """The model's short name: the last part of its id or local folder."""
    return str(trace.meta.get("model") or "?").rstrip("/").rsplit("/", 1)[-1]


def tree_text(trace: Trace, step: int, prune: bool = False) -> str:
    """The drafted tree of step ``step`` as ASCII, one node per line:
    ``✓`` accepted, ``✗`` differs from the model's pick after its parent (the first mismatch on
    a branch; nodes under it cannot be accepted), then where the token came from (``rK``: column K
    of the parent's matrix row; ``c``: copied from the context; ``rK?``: a placeholder from a
    never-written row; ``∅``: an empty slot), the token, and ``→ 'x'``: the model's pick after the
    node. ``+`` is the bonus token (``-`` when the run stopped before it). When a per-step budget
    chose the tree, one ``·`` line per node lists the candidates pruned under it (never
    verified; ``(+N)``: pruned candidates below one, ``c``: copied).

    prune: draw rejected nodes without their subtrees (a ``(+N)`` count stands for them).
    """
    story = describe_step(trace, step)
    nodes = story.nodes
    lines = [f"{_quote(trace, story.root)}  (root, step {story.step}){_pick(trace, nodes[0])}"]

    def count(i: int) -> int:
        return sum(1 + count(c) for c in nodes[i].children)

    def walk(i: int, prefix: str) -> None:
        items: list[int | str | None] = list(nodes[i].children)
        if story.budget is not None and story.budget.heads(i):
            items.append("pruned")
        if i == story.best:
            items.append(None)  # the bonus
        for j, child in enumerate(items):
            branch, indent = ("└── ", "    ") if j == len(items) - 1 else ("├── ", "│   ")
            if child is None:
                lines.append(f"{prefix}{branch}{_bonus_line(trace, story)}")
                continue
            if child == "pruned":
                lines.append(f"{prefix}{branch}{_pruned_line(trace, story.budget, i)}")
                continue
            node = nodes[child]
            fold = prune and not node.accepted and node.children
            text = f"{prefix}{branch}{_node_line(trace, node)}"
            lines.append(text + (f"  (+{count(child)})" if fold else ""))
            if not fold:
                walk(child, prefix + indent)

    walk(0, "")
    return "\n".join(lines)


def _node_line(trace: Trace, node: Node) -> str:
    mark = LOOKS["accepted"].mark if node.accepted else " "
    if not node.accepted and node.match is False:
        mark = LOOKS["mismatch"].mark
    tag = {"copied": "c", "placeholder": f"r{node.rank}?", "empty": f"r{node.rank}"}.get(
        node.origin, f"r{node.rank}"
    )
    return f"{mark} {tag} {_quote(trace, node.token)}{_pick(trace, node)}"


def _pruned_line(trace: Trace, budget: BudgetStory, parent: int) -> str:
    heads = budget.heads(parent)
    words = [
        ("c " if q.copied else "") + _quote(trace, q.token, 12)
        + (f" (+{budget.under(q.index)})" if budget.under(q.index) else "")
        for q in heads
    ]  # fmt: skip
    return f"{LOOKS['pruned'].mark} pruned {len(heads)}: " + " ".join(words)


def _pick(trace: Trace, node: Node) -> str:
    return f"  → {_quote(trace, node.pick)}" if node.token >= 0 and node.pick >= 0 else ""


def _bonus_line(trace: Trace, story: StepStory) -> str:
    chose = choice_word(trace)
    if story.bonus_kept:
        return f"+ {_quote(trace, story.bonus)}  (bonus: model {chose})"
    return f"- {_quote(trace, story.bonus)}  (bonus dropped: {stop_words(story.stop)})"


def stop_words(stop: str) -> str:
    """Why a run stopped, in words (``StepStory.stop``)."""
    return {"length": "max_new_tokens reached", "eos": "the answer ended (EOS)"}.get(
        stop, "the run stopped"
    )


def _quote(trace: Trace, token: int, width: int | None = None) -> str:
    return "∅" if token < 0 else f"'{token_label(trace, token, width)}'"


def _phrase(trace: Trace, tokens: tuple[int, ...] | list[int], width: int | None = None) -> str:
    if not tokens:
        return "''"
    return "'" + show_token("".join(trace.token_str(t) for t in tokens), width) + "'"


def plural(n: int, word: str) -> str:
    """``"1 token"``, ``"3 tokens"``, ``"2 entries"``."""
    if n == 1:
        return f"{n} {word}"
    return f"{n} {word[:-1]}ies" if word.endswith("y") else f"{n} {word}s"


def draft_counts(story: StepStory) -> str:
    """``"80 nodes: 77 from 28 matrix rows, 3 placeholders"``: what the draft was made of."""
    n_rows = sum(1 for r in story.rows if any(story.nodes[i].origin == "drafted" for i in r.filled))
    parts = []
    if story.count("drafted"):
        parts.append(f"{story.count('drafted')} from {plural(n_rows, 'matrix row')}")
    for origin, word in (("copied", "copied from the context"), ("placeholder", "placeholders"),
                         ("empty", "empty slots")):  # fmt: skip
        if story.count(origin):
            parts.append(f"{story.count(origin)} {word}")
    if not parts:
        return "no nodes: the root alone"
    return f"{plural(len(story.nodes) - 1, 'node')}: " + ", ".join(parts)


def budget_words(budget: BudgetStory) -> str:
    """The budget's decision in one line: ``"budget: verified 6 of 23 candidates (predicted 2.1
    tokens for 1.3× a one-token step's time); copied 4 tokens after a 7-token match"``.
    The same line ends the draft caption and is a line of :func:`step_text`."""
    if not budget.candidates:
        return "budget: no candidates to verify: a plain one-token step"
    text = (
        f"budget: verified {budget.kept} of {plural(budget.candidates, 'candidate')} "
        f"(predicted {budget.gain:.1f} tokens for {budget.cost:.1f}× a one-token step's time)"
    )
    m = budget.match_len
    if not m:
        return text + "; no earlier match to copy from"
    if budget.copied is None:
        return text + f"; a {m}-token match to copy from"
    if not budget.copied:
        return text + f"; no copy verified after a {m}-token match"
    return text + f"; copied {plural(budget.copied, 'token')} after a {m}-token match"


def step_text(trace: Trace, step: int, timings: bool = True) -> str:
    """One screen about step ``step``: root, draft (by origin), the budget's decision (when a
    budget chose the tree), accepted path, bonus, committed tokens, matrix rows rewritten and
    (``timings=True``) per-phase milliseconds."""
    rec = trace.by_step(step)
    story = describe_step(trace, step) if rec.is_full else None
    accepted = list(rec.committed[: len(rec.accepted)])
    if story is not None:
        accepted = [story.nodes[i].token for i in story.path[1:]]
    bonus = f"bonus {_quote(trace, rec.bonus)}"
    if story is not None and not story.bonus_kept:
        bonus += f" dropped: {stop_words(story.stop)}"
    lines = [
        f"step {rec.step}  root {_quote(trace, rec.root)}  cache {rec.cache_len} tokens",
        f"accepted {len(rec.accepted)} drafted: {_phrase(trace, accepted)}  {bonus}",
        f"committed {len(rec.committed)}: {_phrase(trace, rec.committed)}",
    ]
    budget = story.budget if story is not None else describe_budget(rec)
    if budget is not None:
        lines.insert(1, budget_words(budget))
    if story is not None:
        lines.insert(1, f"draft {draft_counts(story)}, depth {story.depth}")
        changed = [r for r in story.rows if r.writer is not None and r.changed]
        lines.append(f"rows rewritten {len(rec.rows_written)}, changed {len(changed)}")
        for r in changed[:3]:
            who = "path" if story.nodes[r.writer].accepted else "rejected"
            lines.append(
                f"  row {_quote(trace, r.token)} by node {r.writer} ({who}): "
                f"{_row(trace, r.before)} -> {_row(trace, r.after)}"
            )
        if len(changed) > 3:
            lines.append(f"  ... {len(changed) - 3} more changed rows")
    if timings and rec.timings:
        lines.append(
            "time "
            + "  ".join(f"{p} {rec.timings[p] * 1e3:.2f} ms" for p in PHASES if p in rec.timings)
        )
    return "\n".join(lines)


def stage_text(trace: Trace, step: int, stage: str | None) -> str:
    """The one-line caption of ``stage`` of step ``step`` (``None``: the whole step), as drawn
    on the staged figures."""
    return caption(trace, describe_step(trace, step), check_stage(stage))


def caption(trace: Trace, story: StepStory, stage: str | None) -> str:
    """:func:`stage_text` from an already derived :class:`StepStory`."""
    head = f"step {story.step} · {stage or 'whole step'} · "
    if stage == "draft":
        budget = f"; {budget_words(story.budget)}" if story.budget is not None else ""
        return head + draft_counts(story) + budget
    if stage == "verify":
        return head + _verify_words(trace, story)
    if stage == "update":
        return head + _update_words(story)
    return head + _accept_words(trace, story)


def _verify_words(trace: Trace, story: StepStory) -> str:
    path = [story.nodes[i] for i in story.path[1:]]
    best = story.nodes[story.best]
    chose = choice_word(trace)
    text = f"1 forward over {plural(len(story.nodes), 'token')}: "
    if path:
        text += " ".join(f"{_quote(trace, n.token, 12)} ✓" for n in path) + f" match its {chose}"
        text += f"; after {_quote(trace, best.token, 12)} it wants {_quote(trace, best.pick, 12)}"
    else:
        text += f"the model's {chose} after the root is {_quote(trace, best.pick, 12)}"
    pruned = story.budget is not None and any(
        q.token == best.pick for q in story.budget.heads(best.index)
    )
    if pruned:
        return text + ", which the budget pruned ✗"
    if not best.children and story.budget is not None and story.budget.heads(best.index):
        return text + ", nothing was verified there"
    if not best.children:
        return text + ", nothing was drafted there"
    return text + ", which no draft has ✗"


def _accept_words(trace: Trace, story: StepStory) -> str:
    drafts = [story.nodes[i].token for i in story.path[1:]]
    text = f"{plural(len(drafts), 'draft')} accepted {_phrase(trace, drafts, 30)}"
    if not drafts:
        text = "no draft accepted"
    bonus = _quote(trace, story.bonus, 12)
    if story.bonus_kept:
        text += f" + bonus {bonus}"
    elif story.kept < len(drafts):
        text += f"; {stop_words(story.stop)} after {story.kept} of them, bonus {bonus} dropped"
    else:
        text += f"; bonus {bonus} dropped: {stop_words(story.stop)}"
    text += f" → {plural(len(story.committed), 'token')} from 1 forward"
    if story.budget is not None and story.budget.candidates:
        text += f" (the budget predicted {story.budget.gain:.1f})"
    return text


def _update_words(story: StepStory) -> str:
    written = [r for r in story.rows if r.writer is not None]
    changed = [r for r in written if r.changed]
    trash = sum(1 for r in changed if not story.nodes[r.writer].accepted)
    return (
        f"each node writes the model's top-{story.k} after it into its token's row: "
        f"{plural(len(changed), 'row')} changed, {trash} by rejected nodes"
    )


def _row(trace: Trace, row: tuple[int, ...], width: int = 6) -> str:
    return "[" + " ".join(token_label(trace, t, width) for t in row) + "]"


def run_text(trace: Trace, timings: bool = True) -> str:
    """A run summary: model, tree, prompt, steps, tokens, MAT, the accepted-length histogram and
    (``timings=True``) time per phase."""
    meta = trace.meta
    tree = meta.get("tree") or {}
    pruned = (
        ": candidates a per-step budget prunes" if (meta.get("config") or {}).get("budget") else ""
    )
    n_nodes = len(tree.get("parents", ())) - 1 if tree else None
    lines = [
        f"model {model_name(trace)} ({meta.get('dtype', '?')}, {meta.get('device', '?')})",
        f"method {meta.get('method', '?')}  tree {tree.get('name', '-')}"
        + (f" ({n_nodes} nodes{pruned})" if n_nodes else ""),
        f"prompt {show_token(str(meta.get('prompt') or ''), 60)}",
        f"steps {len(trace)}  new tokens {trace.new_tokens}  MAT {trace.mat:.2f}  "
        f"finish {meta.get('finish_reason', '?')}",
        "accepted drafts per step:",
    ]
    hist = Counter(s.accepted_len for s in trace)
    top = max(hist.values(), default=1)
    for n in range(max(hist, default=0) + 1):
        bar = "#" * round(30 * hist[n] / top)
        lines.append(f"  {n:2d} | {bar} {hist[n]}")
    if timings:
        totals = Counter()
        for s in trace:
            totals.update(s.timings)
        if totals:
            lines.append(
                "time " + "  ".join(f"{p} {totals[p]:.3f} s" for p in PHASES if p in totals)
            )
    return "\n".join(lines)
