"""Text twins of the views: an ASCII draft tree, a one-screen step summary, a run summary.

They read a :class:`~trviz.trace.Trace` only, print the same facts the plotly views draw, and are
what tests, nbval-checked notebook cells and terminals compare. Steps are named by their step
number (``StepRecord.step``), so a sliced trace keeps its numbering. Stdlib only.
"""

from __future__ import annotations

from collections import Counter

from trviz.trace import StepRecord, Trace

VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥", "\r": "␍"}
PHASE_ORDER = ("draft", "forward", "verify", "compact", "update")


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


def _require_full(trace: Trace, rec: StepRecord) -> None:
    if not rec.is_full:
        raise ValueError(
            f"step {rec.step} was recorded at level 'summary'; the tree and rows need "
            "generate(..., record='full')"
        )


def _children(parents: tuple[int, ...]) -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {i: [] for i in range(len(parents))}
    for i, p in enumerate(parents[1:], start=1):
        kids[p].append(i)
    return kids


def tree_text(trace: Trace, step: int, prune: bool = False) -> str:
    """The drafted tree of step ``step`` as ASCII: ``✓`` marks the accepted path, ``+`` the bonus
    token, ``rK`` the matrix column (rank) a node was read from, ``∅`` an unwritten slot.

    prune: draw rejected nodes without their subtrees (a ``(+N)`` count stands for them).
    """
    rec = trace.by_step(step)
    _require_full(trace, rec)
    kids = _children(rec.parents)
    on_path = set(rec.accepted)
    best = rec.accepted[-1] if rec.accepted else 0
    lines = [f"{_quote(trace, rec.root)}  (root, step {rec.step})"]
    chose = choice_word(trace)

    def count(node: int) -> int:
        return sum(1 + count(c) for c in kids[node])

    def walk(node: int, prefix: str) -> None:
        items: list[tuple[str, int | None]] = [("node", c) for c in kids[node]]
        if node == best:
            items.append(("bonus", None))
        for j, (kind, child) in enumerate(items):
            last = j == len(items) - 1
            branch, indent = ("└── ", "    ") if last else ("├── ", "│   ")
            if kind == "bonus":
                lines.append(
                    f"{prefix}{branch}+ {_quote(trace, rec.bonus)}  (bonus: model {chose})"
                )
                continue
            accepted = child in on_path
            mark = "✓" if accepted else " "
            text = f"{prefix}{branch}{mark} r{rec.ranks[child]} {_quote(trace, rec.tokens[child])}"
            if prune and not accepted and kids[child]:
                text += f"  (+{count(child)})"
            lines.append(text)
            if accepted or not prune:
                walk(child, prefix + indent)

    walk(0, "")
    return "\n".join(lines)


def _quote(trace: Trace, token: int) -> str:
    return "∅" if token < 0 else f"'{token_label(trace, token)}'"


def _phrase(trace: Trace, tokens: tuple[int, ...] | list[int]) -> str:
    return "'" + "".join(token_label(trace, t) for t in tokens) + "'"


def step_text(trace: Trace, step: int, timings: bool = True) -> str:
    """One screen about step ``step``: root, draft size, accepted path, bonus, committed tokens,
    matrix rows read and rewritten, and (``timings=True``) per-phase milliseconds."""
    rec = trace.by_step(step)
    accepted = [rec.tokens[i] for i in rec.accepted] if rec.is_full else list(rec.committed[:-1])
    lines = [
        f"step {rec.step}  root {_quote(trace, rec.root)}  cache {rec.cache_len} tokens",
        f"accepted {len(rec.accepted)} drafted: {_phrase(trace, accepted)}  "
        f"bonus {_quote(trace, rec.bonus)}",
        f"committed {len(rec.committed)}: {_phrase(trace, rec.committed)}",
    ]
    if rec.is_full:
        drafted = sum(1 for t in rec.tokens[1:] if t >= 0)
        lines.insert(
            1,
            f"draft {drafted}/{len(rec.tokens) - 1} nodes filled from "
            f"{len(rec.rows_read)} matrix rows, depth {max(rec.depths)}",
        )
        changed = [w for w in rec.rows_written if w.old != w.new]
        lines.append(f"rows rewritten {len(rec.rows_written)}, changed {len(changed)}")
        for w in changed[:3]:
            lines.append(
                f"  row {_quote(trace, w.token)}: {_row(trace, w.old)} -> {_row(trace, w.new)}"
            )
        if len(changed) > 3:
            lines.append(f"  ... {len(changed) - 3} more changed rows")
    if timings and rec.timings:
        lines.append(
            "time "
            + "  ".join(
                f"{p} {rec.timings[p] * 1e3:.2f} ms" for p in PHASE_ORDER if p in rec.timings
            )
        )
    return "\n".join(lines)


def _row(trace: Trace, row: tuple[int, ...], width: int = 6) -> str:
    return "[" + " ".join(token_label(trace, t, width) for t in row) + "]"


def run_text(trace: Trace, timings: bool = True) -> str:
    """A run summary: model, tree, prompt, steps, tokens, MAT, the accepted-length histogram and
    (``timings=True``) time per phase."""
    meta = trace.meta
    tree = meta.get("tree") or {}
    n_nodes = len(tree.get("parents", ())) - 1 if tree else None
    lines = [
        f"model {model_name(trace)} ({meta.get('dtype', '?')}, {meta.get('device', '?')})",
        f"method {meta.get('method', '?')}  tree {tree.get('name', '-')}"
        + (f" ({n_nodes} nodes)" if n_nodes else ""),
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
                "time " + "  ".join(f"{p} {totals[p]:.3f} s" for p in PHASE_ORDER if p in totals)
            )
    return "\n".join(lines)
