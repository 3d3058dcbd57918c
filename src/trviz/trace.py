"""Traces: what happened at every decoding step, as plain data.

A :class:`StepRecord` is built once per step by ``trviz.recording.step_record`` (the only place
that turns tensors into a record) and handed to the ``on_step`` hook; a :class:`Trace` is the run's
metadata plus its records. Plain ints, floats, strings and tuples only, so a saved trace opens
anywhere, without torch or the model. Stdlib only.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from trviz.checks import input_file
from trviz.errors import TraceError
from trviz.plumbing import write_atomic
from trviz.trace_schema import SCHEMA, SCHEMA_VERSION, check_trace_json

MAX_FILE_BYTES = 2**30  # a full trace of the paper tree takes ~11 kB per step (docs/views.md)
LEVELS = ("none", "summary", "full")


@dataclass(frozen=True)
class RowWrite:
    """One matrix row rewritten by the update: ``row[token]`` went from ``old`` to ``new``."""

    token: int
    node: int  # tree node whose logits supplied the new candidates
    old: tuple[int, ...]
    new: tuple[int, ...]


@dataclass(frozen=True)
class Budget:
    """The per-step budget's decision (``TRConfig(budget=True)``; a static tree has none).

    Always: ``kept`` drafted nodes verified (root excluded) out of ``candidates`` drafted;
    ``gain`` the predicted tokens committed this step (bonus included); ``cost`` the predicted
    step time in one-token steps at this context length; ``match_len`` the longest earlier match
    of the context's suffix (0: none). Full level adds ``p``, the predicted P(accepted) of each
    verified node (root 1.0), and the *pruned* candidates, numbered after the verified tree
    (``S, S+1, ...`` in BFS order, ``S`` = verified tree size): their parents in that numbering
    (a parent below ``S`` is a verified node), tokens, P(accepted), and which were copied.
    """

    kept: int
    candidates: int
    gain: float
    cost: float
    match_len: int
    p: tuple[float, ...] | None = None
    pruned_parents: tuple[int, ...] | None = None
    pruned_tokens: tuple[int, ...] | None = None
    pruned_p: tuple[float, ...] | None = None
    pruned_copied: tuple[int, ...] | None = None

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Budget:
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


@dataclass(frozen=True)
class StepRecord:
    """One draft -> forward -> verify -> compact -> update step.

    Always present (``summary`` level): the root token, the committed cache length before the step
    (the root's position), the accepted node indices (root excluded, root-to-leaf order), the bonus
    token, the tokens committed this step and per-phase timings in seconds.
    ``full`` level adds the drafted tree (tokens, parents, ranks, depths, root at index 0), the
    matrix rows read to draft it (``rows_read[token] = row``), the model's argmax at every node
    (under sampling: its sample, -1 where none was drawn) and every row the update rewrote.
    """

    step: int
    root: int
    cache_len: int
    accepted: tuple[int, ...]
    bonus: int
    committed: tuple[int, ...]
    timings: dict[str, float]
    tokens: tuple[int, ...] | None = None
    parents: tuple[int, ...] | None = None
    ranks: tuple[int, ...] | None = None
    depths: tuple[int, ...] | None = None
    argmax: tuple[int, ...] | None = None
    rows_read: dict[int, tuple[int, ...]] | None = None
    rows_written: tuple[RowWrite, ...] | None = None
    lookup_nodes: tuple[int, ...] | None = None  # nodes whose token was copied from the context
    budget: Budget | None = None  # the per-step budget's decision (None: a static tree)

    @property
    def accepted_len(self) -> int:
        """Drafted tokens accepted this step (0..tree depth)."""
        return len(self.accepted)

    @property
    def is_full(self) -> bool:
        return self.tokens is not None

    def to_json(self) -> dict[str, Any]:
        d = {f.name: getattr(self, f.name) for f in fields(self)}
        if self.rows_read is not None:
            d["rows_read"] = [[t, list(r)] for t, r in self.rows_read.items()]
        if self.rows_written is not None:
            d["rows_written"] = [asdict(w) for w in self.rows_written]
        if self.budget is not None:
            d["budget"] = asdict(self.budget)
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> StepRecord:
        d = dict(d)
        for name in (
            "accepted",
            "committed",
            "tokens",
            "parents",
            "ranks",
            "depths",
            "argmax",
            "lookup_nodes",
        ):
            if d.get(name) is not None:
                d[name] = tuple(d[name])
        if d.get("rows_read") is not None:
            d["rows_read"] = {int(t): tuple(r) for t, r in d["rows_read"]}
        if d.get("rows_written") is not None:
            d["rows_written"] = tuple(
                RowWrite(w["token"], w["node"], tuple(w["old"]), tuple(w["new"]))
                for w in d["rows_written"]
            )
        if d.get("budget") is not None:
            d["budget"] = Budget.from_json(d["budget"])
        return cls(**d)


@dataclass(frozen=True)
class RowEvent:
    """One touch of a matrix row: read to draft step ``step``, or rewritten by its update."""

    step: int
    kind: str  # "read" or "write"
    row: tuple[int, ...]  # the row as read, or the row before the write
    new: tuple[int, ...] | None  # after the write
    node: int | None  # tree node whose logits were written


@dataclass(frozen=True)
class TraceMeta:
    """What a trace says about its run, typed (``Trace.info``); the file keeps the plain dict
    (``Trace.meta``), so older and newer traces load alike. Keys this class does not know (a
    benchmark's own, a newer trviz's) are kept in ``extra``.

    Before the first step: ``method`` (``"tr"``, ``"greedy"``...), ``model``, the tokenizer's
    ``vocab_fingerprint``, ``device``, ``dtype``, ``prompt`` (None for ids or chat messages), the
    ``config``/``tree`` dicts and where the tree and cost curve came from (``tree_source``,
    ``cost_source``), the ``record`` level and the ``sampling`` parameters (None: greedy).
    After the run: ``prompt_ids``, ``new_tokens``, ``text``, ``finish_reason``, ``stats`` (the
    :class:`~trviz.metrics.Stats` dict) and ``token_strings`` (id -> text).
    """

    method: str = ""
    model: str = ""
    vocab_fingerprint: str = ""
    device: str = ""
    dtype: str = ""
    prompt: str | None = None
    config: dict[str, Any] | None = None
    tree: dict[str, Any] | None = None
    tree_source: str | None = None
    cost_source: str | None = None
    record: str | None = None
    sampling: dict[str, Any] | None = None
    prompt_ids: tuple[int, ...] = ()
    new_tokens: tuple[int, ...] = ()
    text: str = ""
    finish_reason: str | None = None
    stats: dict[str, Any] | None = None
    token_strings: dict[int, str] = field(default_factory=dict)
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, meta: dict[str, Any]) -> TraceMeta:
        known = {f.name for f in fields(cls)} - {"extra"}
        typed = {k: tuple(v) if isinstance(v, list) else v for k, v in meta.items() if k in known}
        return cls(**typed, extra={k: v for k, v in meta.items() if k not in known})

    def to_dict(self) -> dict[str, Any]:
        """The plain dict a trace file holds (``extra``'s keys beside the known ones)."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "extra"}
        return {k: list(v) if isinstance(v, tuple) else v for k, v in out.items()} | self.extra


@dataclass(repr=False)
class Trace:
    """A run: ``meta`` (model, vocabulary fingerprint, config, prompt, token strings, totals) and
    the step records. ``meta["token_strings"]`` maps every token id in the trace to its text."""

    meta: dict[str, Any]
    steps: list[StepRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    @property
    def info(self) -> TraceMeta:
        """``meta`` typed (:class:`TraceMeta`)."""
        return TraceMeta.from_dict(self.meta)

    def __iter__(self) -> Iterator[StepRecord]:
        return iter(self.steps)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Trace(dict(self.meta), self.steps[i])
        return self.steps[i]

    def __repr__(self) -> str:
        method = self.meta.get("method", "?")
        return (
            f"Trace({method}, {len(self.steps)} steps, {self.new_tokens} tokens, "
            f"MAT {self.mat:.2f}, tokens/forward {self.tokens_per_forward:.2f}, "
            f"level {self.level!r})"
        )

    @property
    def mat(self) -> float:
        """Mean accepted tokens per step (MAT): committed tokens per target forward."""
        if not self.steps:
            return 0.0
        return self.new_tokens / len(self.steps)

    @property
    def new_tokens(self) -> int:
        """Tokens committed by these steps."""
        return sum(len(s.committed) for s in self.steps)

    @property
    def tokens_per_forward(self) -> float:
        """Committed tokens per target forward, counting the prefill forward when the trace starts
        at step 0 (so a greedy run of n tokens scores n / (n + 1))."""
        forwards = len(self.steps) + (1 if self.steps and self.steps[0].step == 0 else 0)
        return self.new_tokens / forwards if forwards else 0.0

    @property
    def level(self) -> str:
        """``"full"`` when every step carries its tree and rows, else ``"summary"``."""
        return "full" if self.steps and all(s.is_full for s in self.steps) else "summary"

    def by_step(self, n: int) -> StepRecord:
        """The record of step number ``n`` (``StepRecord.step``; slices keep their numbers)."""
        if self.steps and 0 <= n - self.steps[0].step < len(self.steps):
            rec = self.steps[n - self.steps[0].step]
            if rec.step == n:
                return rec
        for rec in self.steps:
            if rec.step == n:
                return rec
        span = f"{self.steps[0].step}..{self.steps[-1].step}" if self.steps else "none"
        raise IndexError(f"step {n} is not in this trace (steps {span})")

    def token_str(self, token: int) -> str:
        """The decoded text of ``token`` (``"<id>"`` when the trace does not know it)."""
        if token < 0:
            return ""
        return self.meta.get("token_strings", {}).get(token, f"<{token}>")

    def row_history(self, token: int) -> list[RowEvent]:
        """Every step that read or rewrote matrix row ``token``, in step order."""
        events = []
        for s in self.steps:
            if not s.is_full:
                continue
            if token in s.rows_read:
                events.append(RowEvent(s.step, "read", s.rows_read[token], None, None))
            events.extend(
                RowEvent(s.step, "write", w.old, w.new, w.node)
                for w in s.rows_written
                if w.token == token
            )
        return events

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": SCHEMA,
            "version": SCHEMA_VERSION,
            "meta": self.meta,
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> Trace:
        """A trace from its JSON form, the schema checked (:func:`check_trace_json`)."""
        check_trace_json(d, (f.name for f in fields(StepRecord)))
        meta = dict(d["meta"])
        if "token_strings" in meta:
            meta["token_strings"] = {int(k): v for k, v in meta["token_strings"].items()}
        return cls(meta, [StepRecord.from_json(s) for s in d["steps"]])

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically (temp file + rename: never a half-written file), with a SHA-256
        of its content that :func:`load_trace` checks."""
        body = _content(self.meta, [s.to_json() for s in self.steps])
        head = f'{{"schema":"{SCHEMA}","version":{SCHEMA_VERSION},"sha256":"{_sha256(body)}",'
        return write_atomic(path, head + body[1:])


def _content(meta: dict[str, Any], steps: list[dict[str, Any]]) -> str:
    """The checksummed part of a trace file, in its one canonical spelling."""
    return json.dumps({"meta": meta, "steps": steps}, separators=(",", ":"))


_HEAD = re.compile(r'\{"schema":"[^"]*","version":\d+,"sha256":"([0-9a-f]{64})",')


def _sha256(text: str) -> str:
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def load_trace(path: str | os.PathLike, max_bytes: int = MAX_FILE_BYTES) -> Trace:
    """Read a trace saved by :meth:`Trace.save`.

    A file that is not JSON, not a trviz trace, of another schema version, with missing or
    mistyped fields, with a checksum that does not match (a damaged or edited file), larger than
    ``max_bytes`` or not a regular file raises :class:`~trviz.errors.TraceError` naming the file
    and the reason. Files saved before checksums (no ``"sha256"``) are read without one.
    """
    input_file(path, "trace", max_bytes, TraceError)
    try:
        with open(path, "rb") as f:
            text = f.read(max_bytes + 1).decode("utf-8")
        ints: dict[str, int] = {}  # one int object per distinct number: half the memory
        data = json.loads(text, parse_int=lambda s: ints.setdefault(s, int(s)))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise TraceError(f"{path}: not a trace file: not valid JSON ({e})") from e
    except RecursionError as e:
        raise TraceError(f"{path}: not a trace file: JSON nested too deeply") from e
    try:
        if isinstance(data, dict) and "sha256" in data:
            _check_sha256(data, text)
        return Trace.from_json(data)
    except TraceError as e:
        raise TraceError(f"{path}: {e}") from e


def _check_sha256(d: dict[str, Any], text: str) -> None:
    """The checksum of a file as :meth:`Trace.save` wrote it (its bytes after the head), or, for a
    reformatted file, of its content in the canonical spelling."""
    head = _HEAD.match(text)
    if head and head[1] == d["sha256"]:
        body = "{" + text[head.end() :]
    elif isinstance(d.get("meta"), dict) and isinstance(d.get("steps"), list):
        body = _content(d["meta"], d["steps"])
    else:
        raise TraceError("malformed trace: 'meta' must be an object and 'steps' a list")
    if d["sha256"] != _sha256(body.rstrip()):
        raise TraceError(
            "corrupted trace: its content does not match its checksum (damaged or edited after "
            "it was saved)"
        )
