"""Traces: what happened at every decoding step, as plain data.

A :class:`StepRecord` is built once per step by ``trviz.recording.step_record`` (the only place
that turns tensors into a record) and handed to the ``on_step`` hook; a :class:`Trace` is the run's
metadata plus its records. Plain ints, floats, strings and tuples only, so a saved trace opens
anywhere, without torch or the model. Stdlib only.
"""

from __future__ import annotations

import json
import os
import tempfile
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Iterator

from trviz.errors import TraceError

SCHEMA_VERSION = 1
LEVELS = ("none", "summary", "full")


@dataclass(frozen=True)
class RowWrite:
    """One matrix row rewritten by the update: ``row[token]`` went from ``old`` to ``new``."""

    token: int
    node: int  # tree node whose logits supplied the new candidates
    old: tuple[int, ...]
    new: tuple[int, ...]


@dataclass(frozen=True)
class StepRecord:
    """One draft -> forward -> verify -> compact -> update step.

    Always present (``summary`` level): the root token, the committed cache length before the step
    (the root's position), the accepted node indices (root excluded, root-to-leaf order), the bonus
    token, the tokens committed this step and per-phase timings in seconds.
    ``full`` level adds the drafted tree (tokens, parents, ranks, depths, root at index 0), the
    matrix rows read to draft it (``rows_read[token] = row``), the model's argmax at every node and
    every row the update rewrote.
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
    lookup_nodes: tuple[int, ...] | None = None  # nodes whose token was copied by prompt lookup

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
        return d

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "StepRecord":
        d = dict(d)
        for name in ("accepted", "committed", "tokens", "parents", "ranks", "depths", "argmax",
                     "lookup_nodes"):
            if d.get(name) is not None:
                d[name] = tuple(d[name])
        if d.get("rows_read") is not None:
            d["rows_read"] = {int(t): tuple(r) for t, r in d["rows_read"]}
        if d.get("rows_written") is not None:
            d["rows_written"] = tuple(
                RowWrite(w["token"], w["node"], tuple(w["old"]), tuple(w["new"]))
                for w in d["rows_written"]
            )
        return cls(**d)


@dataclass
class Trace:
    """A run: ``meta`` (model, vocabulary fingerprint, config, prompt, token strings, totals) and
    the step records. ``meta["token_strings"]`` maps every token id in the trace to its text."""

    meta: dict[str, Any]
    steps: list[StepRecord] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.steps)

    def __iter__(self) -> Iterator[StepRecord]:
        return iter(self.steps)

    def __getitem__(self, i):
        if isinstance(i, slice):
            return Trace(dict(self.meta), self.steps[i])
        return self.steps[i]

    @property
    def mat(self) -> float:
        """Mean accepted tokens per step (MAT): committed tokens per target forward."""
        if not self.steps:
            return 0.0
        return sum(len(s.committed) for s in self.steps) / len(self.steps)

    def to_json(self) -> dict[str, Any]:
        return {
            "schema": "trviz.trace",
            "version": SCHEMA_VERSION,
            "meta": self.meta,
            "steps": [s.to_json() for s in self.steps],
        }

    @classmethod
    def from_json(cls, d: dict[str, Any]) -> "Trace":
        if not isinstance(d, dict) or d.get("schema") != "trviz.trace":
            raise TraceError("not a trviz trace (missing schema 'trviz.trace')")
        if d.get("version") != SCHEMA_VERSION:
            raise TraceError(
                f"trace schema version {d.get('version')!r} is not supported by this trviz "
                f"(it reads version {SCHEMA_VERSION})"
            )
        meta = dict(d["meta"])
        if "token_strings" in meta:
            meta["token_strings"] = {int(k): v for k, v in meta["token_strings"].items()}
        return cls(meta, [StepRecord.from_json(s) for s in d["steps"]])

    def save(self, path: str | os.PathLike) -> Path:
        """Write JSON atomically (temp file + rename: never a half-written file)."""
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=path.name + ".", suffix=".tmp", dir=path.parent)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                json.dump(self.to_json(), f, separators=(",", ":"))
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def load_trace(path: str | os.PathLike) -> Trace:
    """Read a trace saved by :meth:`Trace.save`; corrupt or foreign files raise TraceError."""
    try:
        with open(path, encoding="utf-8") as f:
            data = json.load(f)
    except json.JSONDecodeError as e:
        raise TraceError(f"{path}: not valid JSON ({e})") from e
    try:
        return Trace.from_json(data)
    except (KeyError, TypeError) as e:
        raise TraceError(f"{path}: malformed trace ({e})") from e
