"""Recording: one step's tensors into a :class:`~trviz.trace.StepRecord` (the only such place),
the hook that receives each record, and the finished run's :class:`~trviz.trace.Trace`.

Under sampling (``generate(..., temperature=...)``) the ``argmax`` field holds each node's sampled
token instead of the model's argmax: it is what verification compared the children against, and
the accepted node's entry is the bonus. On CPU the walk draws only at the nodes it visits (root
and accepted path), so the other entries are -1. The field keeps its name so traces stay one
schema.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch

from trviz.errors import ConfigError
from trviz.metrics import Stats
from trviz.plumbing import dtype_name
from trviz.trace import LEVELS, Budget, RowWrite, StepRecord, Trace, TraceMeta
from trviz.trees import Tree


@dataclass
class StepTensors:
    """What a TR step leaves behind for recording (device tensors + the host-side decision)."""

    tokens: torch.Tensor  # [S] drafted ids, root at 0 (-1: unwritten slot)
    argmax: torch.Tensor  # [S] model argmax per node (sampling: the node's sample, or -1)
    candidates: torch.Tensor  # [S, k] top-k ids per node
    winners: torch.Tensor  # [S] bool: nodes whose row was written
    rows_before: torch.Tensor | None  # [S, k] the rows of each node's token before the update
    best: int
    path: tuple[int, ...]  # root-to-best node indices
    host_tokens: list[int]
    bonus: int
    timings: dict[str, float]
    lookup_nodes: tuple[int, ...] = ()  # nodes that carried tokens copied from the context
    tree: Tree | None = None  # the tree this step verified
    budget: Budget | None = None  # the per-step budget's decision (None: a static tree)


def check_level(level: str) -> str:
    if level not in LEVELS:
        raise ConfigError(f"record must be one of {LEVELS}, got {level!r}")
    return level


class Recorder:
    """Keeps a run's step records at a level (``none``/``summary``/``full``) and hands each one
    to the ``on_step`` hook. A hook raises the level ``none`` to ``summary`` (it needs records)."""

    def __init__(self, level: str, on_step: Callable[[StepRecord], None] | None = None):
        level = check_level(level)
        if on_step is not None and not callable(on_step):
            raise ConfigError(f"on_step must be callable (gets each step), not {on_step!r:.50}")
        self.level = "summary" if on_step is not None and level == "none" else level
        self.on_step = on_step
        self.records: list[StepRecord] | None = [] if self.level != "none" else None

    @property
    def full(self) -> bool:
        return self.level == "full"

    def add(self, rec: StepRecord) -> None:
        self.records.append(rec)
        if self.on_step is not None:
            self.on_step(rec)

    def add_step(
        self, step: int, cache_len: int, tree: Tree, st: StepTensors, committed: list[int]
    ) -> None:
        """Record one Token Recycling step (nothing at level ``none``)."""
        if self.records is not None:
            self.add(step_record(self.level, step, cache_len, tree, st, committed))


def step_record(
    level: str, step: int, cache_len: int, tree: Tree, st: StepTensors, committed: list[int]
) -> StepRecord:
    """A summary or full record of one step (``level`` is ``"summary"`` or ``"full"``)."""
    base = dict(
        step=step,
        root=st.host_tokens[0],
        cache_len=cache_len,
        accepted=st.path[1:],
        bonus=st.bonus,
        committed=tuple(committed),
        timings=dict(st.timings),
        budget=st.budget,
    )
    if level != "full":
        return StepRecord(**base)
    rows = st.rows_before.tolist()
    new = st.candidates.tolist()
    toks = st.host_tokens
    internal = set(tree.parents[1:])
    rows_read = {toks[i]: tuple(rows[i]) for i in sorted(internal) if toks[i] >= 0}
    written = tuple(
        RowWrite(toks[i], i, tuple(rows[i]), tuple(new[i]))
        for i, w in enumerate(st.winners.tolist())
        if w
    )
    return StepRecord(
        **base,
        tokens=tuple(toks),
        parents=tree.parents,
        ranks=tree.ranks,
        depths=tree.depths,
        argmax=tuple(st.argmax.tolist()),
        rows_read=rows_read,
        rows_written=written,
        lookup_nodes=st.lookup_nodes,
    )


def trace_token_ids(prompt_ids: list[int], out: list[int], records: list[StepRecord]) -> set[int]:
    """Every token id a trace mentions (for its id -> string table)."""
    ids = set(prompt_ids) | set(out)
    for r in records:
        ids.add(r.root)
        ids.add(r.bonus)
        ids.update(r.committed)
        if r.tokens is not None:
            ids.update(r.tokens)
            ids.update(r.argmax)
            for row in r.rows_read.values():
                ids.update(row)
            for w in r.rows_written:
                ids.update(w.old)
                ids.update(w.new)
        if r.budget is not None and r.budget.pruned_tokens is not None:
            ids.update(r.budget.pruned_tokens)
    ids.discard(-1)
    return ids


def run_meta(model, method: str, prompt: Any, fingerprint: str, **more: Any) -> dict[str, Any]:
    """What a trace says about the run before its first step (model, device, dtype, prompt...):
    :class:`~trviz.trace.TraceMeta`'s fields, as the dict a trace file holds."""
    return TraceMeta(
        method=method,
        model=getattr(model.config, "_name_or_path", "") or type(model).__name__,
        vocab_fingerprint=fingerprint,
        device=str(model.device),
        dtype=dtype_name(model.dtype),
        prompt=prompt if isinstance(prompt, str) else None,
        **more,
    ).to_dict()


def build_trace(
    tokenizer,
    meta: dict[str, Any],
    records: list[StepRecord],
    prompt_ids: list[int],
    out: list[int],
    text: str,
    finish: str,
    stats: Stats,
) -> Trace:
    """The finished run's :class:`Trace`: ``meta`` plus the outcome and a string per token id
    (none without a tokenizer: views then show ``<id>``)."""
    known = sorted(trace_token_ids(prompt_ids, out, records)) if tokenizer is not None else []
    strings = tokenizer.batch_decode([[i] for i in known]) if known else []
    meta = dict(
        meta,
        prompt_ids=prompt_ids,
        token_strings=dict(zip(known, strings)),
        new_tokens=out,
        text=text,
        finish_reason=finish,
        stats=stats.to_dict(),
    )
    return Trace(meta, records)


class LiveTrace:
    """An ``on_step`` hook that keeps a viewable :class:`~trviz.trace.Trace` while the run goes
    on: every view and text twin works on ``live.trace`` from inside the hook or between steps.

    >>> live = LiveTrace(tokenizer)
    >>> trviz.generate(model, tokenizer, prompt, 64, on_step=live)  # doctest: +SKIP
    >>> trviz.views.tree_figure(live.trace, live.trace.steps[-1].step)  # doctest: +SKIP

    ``then``: another hook to call after each step is recorded (it sees the updated trace).
    """

    def __init__(self, tokenizer, then: Callable[[StepRecord], None] | None = None):
        self.tokenizer = tokenizer
        self.then = then
        self.trace = Trace({"method": "tr", "record": "live", "token_strings": {}}, [])

    def __call__(self, rec: StepRecord) -> None:
        strings = self.trace.meta["token_strings"]
        new = sorted(trace_token_ids([], [], [rec]) - strings.keys())
        strings.update(zip(new, self.tokenizer.batch_decode([[i] for i in new])))
        self.trace.steps.append(rec)
        if self.then is not None:
            self.then(rec)
