"""The trace file schema, checked field by field before any record is built. Stdlib only.

A trace that loads is one every view can draw: ids are ints (``-1`` only where a slot may be
empty), a full step's tree arrays have one entry per node and describe a BFS tree, the accepted
nodes form a path from the root, step numbers increase. A bad file raises
:class:`~trviz.errors.TraceError` naming the step and the field, never an ``IndexError`` in a view.
JSON gives exact ``int``/``float``/``str`` types, so the checks compare types exactly.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from trviz.errors import TraceError

SCHEMA = "trviz.trace"
SCHEMA_VERSION = 1
SUMMARY_FIELDS = ("step", "root", "cache_len", "accepted", "bonus", "committed", "timings")
# one entry per node, and the least value each may hold (-1: an empty slot, the root's parent)
TREE_FIELDS = {"tokens": -1, "parents": -1, "ranks": 0, "depths": 0, "argmax": -1}
ROW_WRITE_KEYS = {"token", "node", "old", "new"}
_INT = {int}


def check_trace_json(d: Any, step_fields: Iterable[str]) -> None:
    """Raise :class:`TraceError` unless ``d`` is a trace's JSON form with well-typed fields.

    step_fields: every field a step record may carry (newer optional fields pass unchecked).
    """
    if not isinstance(d, dict) or d.get("schema") != SCHEMA:
        raise TraceError(f"not a trviz trace (missing schema {SCHEMA!r})")
    if d.get("version") != SCHEMA_VERSION:
        raise TraceError(
            f"trace schema version {d.get('version')!r} is not supported by this trviz "
            f"(it reads version {SCHEMA_VERSION})"
        )
    if not isinstance(d.get("meta"), dict) or not isinstance(d.get("steps"), list):
        raise TraceError("malformed trace: 'meta' must be an object and 'steps' a list")
    _check_meta(d["meta"])
    known, previous = set(step_fields), -1
    for i, step in enumerate(d["steps"]):
        try:
            _check_step(step, known)
        except TraceError as e:
            raise TraceError(f"malformed trace: steps[{i}]: {e}") from None
        if step["step"] <= previous:
            raise TraceError(f"malformed trace: steps[{i}]: step numbers must increase")
        previous = step["step"]


def _ints(value: Any, name: str, lo: int = -1, allow_none: bool = False) -> None:
    """``value`` is a list of ints, each ``>= lo``."""
    if value is None and allow_none:
        return
    if not isinstance(value, list) or (value and set(map(type, value)) != _INT):
        raise TraceError(f"{name!r} must be a list of ints, got {value!r:.60}")
    if value and min(value) < lo:
        raise TraceError(f"{name!r} holds {min(value)}, below {lo}")


def _int(value: Any, name: str, lo: int) -> None:
    if type(value) is not int or value < lo:
        raise TraceError(f"{name!r} must be an int >= {lo}, got {value!r:.60}")


def _check_meta(meta: dict[str, Any]) -> None:
    strings = meta.get("token_strings", {})
    if not isinstance(strings, dict) or not all(
        isinstance(k, str) and k.lstrip("-").isdigit() and isinstance(v, str)
        for k, v in strings.items()
    ):
        raise TraceError("malformed trace: meta 'token_strings' must map token ids to strings")
    for name in ("prompt_ids", "new_tokens"):
        try:
            _ints(meta.get(name), name, lo=0, allow_none=True)
        except TraceError as e:
            raise TraceError(f"malformed trace: meta {e}") from None
    for name, kind in (("tree", dict), ("config", dict), ("stats", dict), ("sampling", dict)):
        if meta.get(name) is not None and not isinstance(meta[name], kind):
            raise TraceError(f"malformed trace: meta {name!r} must be an object")
    for name in ("method", "model", "prompt", "dtype", "device", "finish_reason"):
        if meta.get(name) is not None and not isinstance(meta[name], str):
            raise TraceError(f"malformed trace: meta {name!r} must be a string")


def _check_step(d: Any, known: set[str]) -> None:
    if not isinstance(d, dict):
        raise TraceError(f"a step must be an object, got {type(d).__name__}")
    missing = [f for f in SUMMARY_FIELDS if f not in d]
    if missing:
        raise TraceError(f"missing field {missing[0]!r}")
    unknown = sorted(set(d) - known)
    if unknown:
        raise TraceError(f"unknown field {unknown[0]!r} (written by a newer trviz?)")
    _int(d["step"], "step", 0)
    _int(d["root"], "root", 0)
    _int(d["cache_len"], "cache_len", 0)
    _int(d["bonus"], "bonus", 0)
    _ints(d["accepted"], "accepted", lo=1)
    _ints(d["committed"], "committed", lo=0)
    timings = d["timings"]
    if not isinstance(timings, dict) or not all(type(v) in (int, float) for v in timings.values()):
        raise TraceError(f"'timings' must map phases to seconds, got {timings!r:.60}")
    if d.get("budget") is not None:
        _check_budget(d["budget"])
    present = [f for f in TREE_FIELDS if d.get(f) is not None]
    if present:
        if len(present) < len(TREE_FIELDS):
            absent = next(f for f in TREE_FIELDS if d.get(f) is None)
            raise TraceError(f"a full step needs all of {', '.join(TREE_FIELDS)}; no {absent!r}")
        _check_tree(d)


BUDGET_NUMBERS = {"kept": int, "candidates": int, "gain": float, "cost": float, "match_len": int}
BUDGET_LISTS = {"p": float, "pruned_parents": int, "pruned_tokens": int, "pruned_p": float,
                "pruned_copied": int}  # fmt: skip


def _check_budget(b: Any) -> None:
    """The budget's decision record (:class:`trviz.trace.Budget`)."""
    if not isinstance(b, dict):
        raise TraceError(f"'budget' must be an object, got {b!r:.60}")
    unknown = sorted(set(b) - set(BUDGET_NUMBERS) - set(BUDGET_LISTS))
    missing = [k for k in BUDGET_NUMBERS if k not in b]
    if unknown or missing:
        raise TraceError(f"'budget': {'unknown' if unknown else 'missing'} field "
                         f"{(unknown or missing)[0]!r}")  # fmt: skip
    for key, kind in BUDGET_NUMBERS.items():
        if type(b[key]) not in ((int,) if kind is int else (int, float)) or b[key] < 0:
            raise TraceError(f"'budget.{key}' must be a number >= 0, got {b[key]!r:.60}")
    for key, kind in BUDGET_LISTS.items():
        value = b.get(key)
        if value is None:
            continue
        ok = (int,) if kind is int else (int, float)
        if not isinstance(value, list) or not all(type(v) in ok for v in value):
            raise TraceError(f"'budget.{key}' must be a list of numbers, got {value!r:.60}")


def _check_tree(d: dict[str, Any]) -> None:
    """The tree arrays, the accepted path and the rows of a full step."""
    for name, lo in TREE_FIELDS.items():
        _ints(d[name], name, lo)
    n = len(d["tokens"])
    if n == 0 or any(len(d[name]) != n for name in TREE_FIELDS):
        raise TraceError(f"{', '.join(TREE_FIELDS)} must have one entry per node, and a root")
    parents, depths = d["parents"], d["depths"]
    if parents[0] != -1 or depths[0] != 0:
        raise TraceError("node 0 must be the root (parent -1, depth 0)")
    for i in range(1, n):
        if not 0 <= parents[i] < i or depths[i] != depths[parents[i]] + 1:
            raise TraceError(f"node {i}: parent {parents[i]} or depth {depths[i]} is not a tree")
    node = 0
    for a in d["accepted"]:
        if a >= n or parents[a] != node:
            raise TraceError(f"'accepted' {d['accepted']} is not a path from the root")
        node = a
    _ints(d.get("lookup_nodes"), "lookup_nodes", lo=1, allow_none=True)
    if d.get("lookup_nodes") and max(d["lookup_nodes"]) >= n:
        raise TraceError(f"'lookup_nodes' names a node outside the tree of {n}")
    _check_rows(d, n)


def _check_rows(d: dict[str, Any], n: int) -> None:
    rows = d.get("rows_read")
    if not isinstance(rows, list) or not all(
        isinstance(r, list) and len(r) == 2 and type(r[0]) is int for r in rows
    ):
        raise TraceError("'rows_read' must be a list of [token, row] pairs")
    for _, row in rows:
        _ints(row, "rows_read", lo=-1)
    writes = d.get("rows_written")
    if not isinstance(writes, list) or not all(
        isinstance(w, dict) and w.keys() == ROW_WRITE_KEYS for w in writes
    ):
        raise TraceError("'rows_written' must be a list of {token, node, old, new} objects")
    for w in writes:
        _int(w["token"], "rows_written token", 0)
        _int(w["node"], "rows_written node", 0)
        if w["node"] >= n:
            raise TraceError(f"'rows_written' names node {w['node']} outside the tree of {n}")
        _ints(w["old"], "rows_written old", lo=-1)
        _ints(w["new"], "rows_written new", lo=0)
