"""One step, derived once: what every panel, caption and text twin of that step draws from.

:func:`describe_step` turns a :class:`~trviz.trace.StepRecord` (plus the trace's config) into a
:class:`StepStory`: each node's origin (drafted from a matrix row, copied from the context, a
placeholder from a never-written row, an empty slot), the model's pick after it and whether the
node matches its parent's pick, the accepted path, whether the bonus was kept, and the matrix rows
that matter in this step (path rows first) with who read and who rewrote each, and, when a per-step
budget chose the tree (``TRConfig(budget=True)``), its decision (:class:`BudgetStory`: how many
candidates it verified, its predicted gain and cost, the copy's match length, the candidates it
pruned). Views only colour and place these facts, so no two panels can disagree. Stdlib only.

The four stages of a step, in the paper's order, are :data:`STAGES`.
"""

from __future__ import annotations

from dataclasses import dataclass

from trviz.errors import TraceError
from trviz.trace import Budget, RowWrite, StepRecord, Trace

STAGES = ("draft", "verify", "accept", "update")
ORIGINS = ("root", "drafted", "copied", "placeholder", "empty")


def require_full(trace: Trace, what: str) -> None:
    """Raise the one "needs a full trace" error unless every step of ``trace`` has its tree."""
    bare = next((s.step for s in trace if not s.is_full), None)
    if not trace.steps or bare is not None:
        where = f"step {bare} has no tree or rows" if bare is not None else "it has no steps"
        raise TraceError(
            f"{what} needs a trace recorded with generate(..., record='full'); {where}"
        )


def check_stage(stage: str | None) -> str | None:
    """``stage`` if it is one of :data:`STAGES` or ``None`` (the whole step at once)."""
    if stage is not None and stage not in STAGES:
        raise ValueError(f"stage must be one of {STAGES} or None, got {stage!r}")
    return stage


@dataclass(frozen=True)
class Node:
    """One tree node of one step."""

    index: int
    token: int  # -1: an empty slot
    parent: int  # -1 for the root
    depth: int
    rank: int  # the column of the parent's row it was read from
    origin: str  # one of ORIGINS
    pick: int  # the model's argmax after this node (sampling: its sample; -1: none drawn)
    match: bool | None  # token == the parent's pick (None: root, empty slot or no pick drawn)
    accepted: bool  # on the accepted path (the root counts)
    children: tuple[int, ...]


@dataclass(frozen=True)
class Row:
    """One matrix row the step touched: read to draft nodes and/or rewritten by the update."""

    token: int
    before: tuple[int, ...]  # the row as the step found it
    after: tuple[int, ...]  # the row after the update (== before when not rewritten)
    readers: tuple[int, ...]  # nodes whose children were drafted from this row
    filled: tuple[int, ...]  # nodes drafted from this row
    writer: int | None  # the node whose logits rewrote it (None: not rewritten)
    never_written: bool  # the row held only the fill value when read (placeholder or -1)
    on_path: bool  # the row of a token on the accepted path

    @property
    def changed(self) -> tuple[int, ...]:
        """Columns the update changed."""
        return tuple(i for i, (a, b) in enumerate(zip(self.before, self.after)) if a != b)


@dataclass(frozen=True)
class Pruned:
    """A candidate the budget drafted but did not verify (it never reached the model)."""

    index: int  # numbered after the verified tree: S, S+1, ... (S = verified tree size)
    token: int
    parent: int  # a verified node (< S) or another pruned candidate
    depth: int
    p: float  # predicted P(accepted)
    copied: bool  # proposed by the matcher (copied from the context)
    children: tuple[int, ...]  # pruned candidates under it


@dataclass(frozen=True)
class BudgetStory:
    """The per-step budget's decision (:class:`~trviz.trace.Budget`), in the views' terms.

    ``kept`` of ``candidates`` drafted nodes were verified (root excluded); ``gain``: predicted
    tokens committed (bonus included); ``cost``: predicted step time in one-token steps;
    ``match_len``: the longest earlier match of the context's suffix (0: none); ``copied``:
    verified nodes carrying copied tokens (None: not recorded, a summary-level step);
    ``pruned``: the candidates left out (empty at summary level), by index minus ``size``;
    ``p``: each verified node's predicted P(accepted) (None at summary level).
    """

    kept: int
    candidates: int
    gain: float
    cost: float
    match_len: int
    copied: int | None
    pruned: tuple[Pruned, ...]
    size: int  # the verified tree's size (root included): the first pruned index
    p: tuple[float, ...] | None = None  # predicted P(accepted) of each verified node (root 1.0)

    def heads(self, parent: int) -> tuple[Pruned, ...]:
        """The pruned candidates hanging directly off node ``parent``."""
        return tuple(q for q in self.pruned if q.parent == parent)

    def get(self, index: int) -> Pruned:
        """The pruned candidate numbered ``index`` (>= :attr:`size`)."""
        return self.pruned[index - self.size]

    def under(self, index: int) -> int:
        """Pruned candidates below pruned candidate ``index``."""
        return sum(1 + self.under(c) for c in self.get(index).children)


def describe_budget(rec: StepRecord) -> BudgetStory | None:
    """The :class:`BudgetStory` of a step record (None: a static tree or an old trace)."""
    b: Budget | None = rec.budget
    if b is None:
        return None
    size = b.kept + 1
    parents = b.pruned_parents or ()
    depths = list(rec.depths or ())[:size] or [0] * size
    kids: dict[int, list[int]] = {}
    for j, par in enumerate(parents):
        depths.append(depths[par] + 1 if 0 <= par < len(depths) else 1)
        kids.setdefault(par, []).append(size + j)
    tokens = b.pruned_tokens or ()
    p = b.pruned_p or (0.0,) * len(tokens)
    copied = set(b.pruned_copied or ())
    pruned = tuple(
        Pruned(size + j, tok, parents[j], depths[size + j], p[j], size + j in copied,
               tuple(kids.get(size + j, ())))
        for j, tok in enumerate(tokens)
    )  # fmt: skip
    n_copied = len(rec.lookup_nodes or ()) if rec.is_full else None
    return BudgetStory(
        b.kept, b.candidates, b.gain, b.cost, b.match_len, n_copied, pruned, size, b.p
    )


@dataclass(frozen=True)
class StepStory:
    """The facts of one step that the views draw (see the module docstring)."""

    step: int
    root: int
    nodes: tuple[Node, ...]
    path: tuple[int, ...]  # root first, then the accepted nodes
    bonus: int
    kept: int  # accepted drafts committed (fewer than accepted when the run stopped mid-path)
    bonus_kept: bool  # False: the run stopped (token cap or end of text) before the bonus
    stop: str  # why the run stopped after this step ("" while it goes on)
    committed: tuple[int, ...]
    rows: tuple[Row, ...]  # rows that matter, path rows first
    k: int
    budget: BudgetStory | None = None  # the per-step budget's decision (None: a static tree)

    @property
    def best(self) -> int:
        """The deepest accepted node (the root when nothing was accepted)."""
        return self.path[-1]

    @property
    def depth(self) -> int:
        return max(n.depth for n in self.nodes)

    def count(self, origin: str) -> int:
        """Nodes of one origin (``"drafted"``, ``"copied"``, ``"placeholder"``, ``"empty"``)."""
        return sum(1 for n in self.nodes if n.origin == origin)

    def row_index(self) -> dict[int, int]:
        """Row token -> its position in :attr:`rows`."""
        return {r.token: i for i, r in enumerate(self.rows)}


def fill_value(trace: Trace) -> int:
    """What a never-written matrix row holds: -1 (de-duplicating configs) or 0 (the paper's)."""
    config = trace.meta.get("config") or {}
    return -1 if config.get("dedupe", True) else 0


def is_never_written(row: tuple[int, ...], fill: int) -> bool:
    """A row holding only the fill value (top-k ids are distinct, so a written row with k > 1
    never is)."""
    return len(row) > 1 and all(t == fill for t in row)


def describe_step(trace: Trace, step: int) -> StepStory:
    """The :class:`StepStory` of step number ``step`` (needs a ``full`` record)."""
    rec = trace.by_step(step)
    if not rec.is_full:
        require_full(Trace(trace.meta, [rec]), f"step {step}'s picture")
    fill = fill_value(trace)
    copied = set(rec.lookup_nodes or ())
    path = (0, *rec.accepted)
    kids: dict[int, list[int]] = {i: [] for i in range(len(rec.tokens))}
    for i, p in enumerate(rec.parents[1:], start=1):
        kids[p].append(i)
    nodes = tuple(
        _node(rec, i, _origin(rec, i, copied, fill), tuple(kids[i]), set(path))
        for i in range(len(rec.tokens))
    )
    kept = min(len(rec.committed), len(rec.accepted))
    bonus_kept = len(rec.committed) == len(rec.accepted) + 1
    last = trace.steps[-1].step == rec.step
    stop = str(trace.meta.get("finish_reason") or "stopped") if last and not bonus_kept else ""
    return StepStory(
        step=rec.step,
        root=rec.root,
        nodes=nodes,
        path=path,
        bonus=rec.bonus,
        kept=kept,
        bonus_kept=bonus_kept,
        stop=stop,
        committed=rec.committed,
        rows=_rows(rec, nodes, path, fill),
        k=_k(trace, rec),
        budget=describe_budget(rec),
    )


def _k(trace: Trace, rec: StepRecord) -> int:
    k = (trace.meta.get("config") or {}).get("k")
    if k:
        return int(k)
    rows = [*rec.rows_read.values(), *(w.new for w in rec.rows_written)]
    return len(rows[0]) if rows else 1


def _origin(rec: StepRecord, i: int, copied: set[int], fill: int) -> str:
    if i == 0:
        return "root"
    if i in copied:
        return "copied"
    token = rec.tokens[i]
    if token < 0:
        return "empty"
    row = rec.rows_read.get(rec.tokens[rec.parents[i]])
    if row is not None and is_never_written(row, fill):
        return "placeholder"
    return "drafted"


def _node(rec: StepRecord, i: int, origin: str, children: tuple[int, ...], path: set[int]) -> Node:
    parent = rec.parents[i]
    token = rec.tokens[i]
    match = None
    if i and token >= 0 and rec.argmax[parent] >= 0:
        match = token == rec.argmax[parent]
    return Node(
        i, token, parent, rec.depths[i], rec.ranks[i], origin, rec.argmax[i], match, i in path,
        children,
    )  # fmt: skip


def _from_row(rec: StepRecord, node: Node) -> bool:
    """Whether ``node`` got its token from its parent's row (empty slots of a row count)."""
    if node.origin not in ("drafted", "placeholder", "empty") or node.parent < 0:
        return False
    row = rec.rows_read.get(rec.tokens[node.parent])
    return row is not None and row[node.rank] == node.token


def _rows(
    rec: StepRecord, nodes: tuple[Node, ...], path: tuple[int, ...], fill: int
) -> tuple[Row, ...]:
    """The rows the step read (to draft) or changed (by the update), path rows first, then the
    other rows read in tree order, then rows only rewritten (changed), in node order."""
    filled: dict[int, list[int]] = {}
    readers: dict[int, list[int]] = {}
    for n in nodes:
        if _from_row(rec, n):
            tok = rec.tokens[n.parent]
            filled.setdefault(tok, []).append(n.index)
            if n.parent not in readers.setdefault(tok, []):
                readers[tok].append(n.parent)
    writes: dict[int, RowWrite] = {w.token: w for w in rec.rows_written}
    path_tokens = [rec.tokens[i] for i in path]
    order: list[int] = []
    candidates = (
        *(t for t in path_tokens if t in readers or t in writes),
        *(n.token for n in nodes if n.token in readers),
        *(w.token for w in rec.rows_written if w.old != w.new),
    )
    for tok in candidates:
        if tok >= 0 and tok not in order:
            order.append(tok)
    rows = []
    for tok in order:
        w = writes.get(tok)
        before = rec.rows_read.get(tok, w.old if w else ())
        rows.append(
            Row(
                tok, before, w.new if w else before, tuple(readers.get(tok, ())),
                tuple(filled.get(tok, ())), w.node if w else None,
                is_never_written(before, fill), tok in path_tokens,
            )
        )  # fmt: skip
    return tuple(rows)
