"""Turn one step's tensors into a :class:`~trviz.trace.StepRecord` (the only such place).

Under sampling (``generate(..., temperature=...)``) the ``argmax`` field holds each node's sampled
token instead of the model's argmax: it is what verification compared the children against, and
the accepted node's entry is the bonus. On CPU the walk draws only at the nodes it visits (root
and accepted path), so the other entries are -1. The field keeps its name so traces stay one
schema.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trviz.trace import LEVELS, Budget, RowWrite, StepRecord
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
        raise ValueError(f"record must be one of {LEVELS}, got {level!r}")
    return level


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
