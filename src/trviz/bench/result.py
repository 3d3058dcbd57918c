"""A benchmark result: per-prompt measurements, their aggregates and the JSON file. Stdlib only.

JSON shape (other tools may rely on it)::

    {"meta": {...},
     "summary": {METHOD: {"speedup", "mat", "tokens_per_s", "exact_fraction", ...}},
     "per_category": {CATEGORY: {METHOD: {...same keys...}}},
     "per_prompt": [{"question_id", "category", "turn", "prompt_tokens", "order",
                     "methods": {METHOD: {"new_tokens", "wall_s", "forwards", "exact", ...}}}]}

Definitions, the same for every method:

- tokens: new token ids returned (an EOS that ended the answer counts).
- time: wall-clock seconds of the whole call, prefill included (as Spec-Bench does); CUDA is
  synchronised before and after. With repeats, the median.
- speedup: tokens/s of the method / tokens/s of the baseline (``ar``) over the same prompts.
- cpu_speedup: the same ratio in this process's CPU seconds: a cross-check, not a cure, for a
  shared machine (time descheduled is not counted, but threads spin-waiting for a descheduled
  sibling are); others_cores: cores other processes kept busy meanwhile, on average.
- MAT: tokens / target forwards after the first one (the prompt's prefill), counted by a hook on
  the model. ``ar`` scores exactly 1; HF methods' prefill also yields their first token, so plain
  HF greedy scores n/(n-1).
- exact_fraction: share of prompts whose tokens equal the baseline's.
"""

from __future__ import annotations

import json
import os
import statistics
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from trviz.bench.suite import CATEGORIES
from trviz.plumbing import write_atomic

SCHEMA = "trviz.bench/1"


def aggregate(records: list[dict[str, Any]], method: str, baseline: str) -> dict[str, Any]:
    """Totals of ``method`` over ``records`` (per-prompt dicts), relative to ``baseline``."""
    rows = [r["methods"][method] for r in records if method in r["methods"]]
    base = [r["methods"][baseline] for r in records if method in r["methods"]]
    tokens = sum(m["new_tokens"] for m in rows)
    wall = sum(m["wall_s"] for m in rows)
    forwards = sum(decode_forwards(m) for m in rows)
    tps = tokens / wall if wall > 0 else 0.0
    base_wall = sum(m["wall_s"] for m in base)
    base_tps = sum(m["new_tokens"] for m in base) / base_wall if base_wall > 0 else 0.0
    others = [m["others_cores"] for m in rows if m.get("others_cores") is not None]
    verified = sum(m.get("verified", 0) for m in rows)
    return {
        "speedup": tps / base_tps if base_tps > 0 else 0.0,
        "cpu_speedup": _cpu_speedup(rows, base),
        "mat": tokens / forwards if forwards else 0.0,
        "tokens_per_s": tps,
        "exact_fraction": sum(bool(m["exact"]) for m in rows) / len(rows) if rows else 0.0,
        "new_tokens": tokens,
        "wall_s": wall,
        "prompts": len(rows),
        "others_cores": sum(others) / len(others) if others else None,
        "tokens_per_forward": verified / forwards if verified and forwards else None,
    }


def _cpu_speedup(rows: list[dict[str, Any]], base: list[dict[str, Any]]) -> float | None:
    """Speedup measured in this process's CPU seconds per token instead of wall seconds (None
    for results without CPU times). Contention still inflates it through spin-waiting threads."""
    if not rows or any("cpu_s" not in m for m in rows + base):
        return None
    cpu, base_cpu = sum(m["cpu_s"] for m in rows), sum(m["cpu_s"] for m in base)
    tokens, base_tokens = sum(m["new_tokens"] for m in rows), sum(m["new_tokens"] for m in base)
    if cpu <= 0 or base_cpu <= 0 or not tokens or not base_tokens:
        return None
    return (tokens / cpu) / (base_tokens / base_cpu)


def decode_forwards(m: dict[str, Any]) -> int:
    """Target forwards after the prompt's prefill (at least 1)."""
    return max(int(m["forwards"]) - 1, 1)


def median(values: list[float]) -> float:
    return float(statistics.median(values))


@dataclass
class BenchResult:
    """What :func:`trviz.bench.run_bench` returns: ``meta`` (settings, machine, versions, load),
    ``per_prompt`` (one dict per question turn) and whether Ctrl-C cut the run short."""

    meta: dict[str, Any]
    per_prompt: list[dict[str, Any]] = field(default_factory=list)
    interrupted: bool = False

    @property
    def methods(self) -> list[str]:
        return list(self.meta["methods"])

    @property
    def baseline(self) -> str:
        return self.meta["baseline"]

    @property
    def categories(self) -> list[str]:
        """Categories present, in the paper's column order (then any others, as they came)."""
        seen = list(dict.fromkeys(r["category"] for r in self.per_prompt))
        return [c for c in CATEGORIES if c in seen] + [c for c in seen if c not in CATEGORIES]

    @property
    def summary(self) -> dict[str, dict[str, Any]]:
        return {m: aggregate(self.per_prompt, m, self.baseline) for m in self.methods}

    @property
    def per_category(self) -> dict[str, dict[str, dict[str, Any]]]:
        out = {}
        for cat in self.categories:
            recs = [r for r in self.per_prompt if r["category"] == cat]
            out[cat] = {m: aggregate(recs, m, self.baseline) for m in self.methods}
        return out

    @property
    def mismatches(self) -> list[dict[str, Any]]:
        """Every (prompt, method) whose tokens differ from the baseline's."""
        return [
            {"question_id": r["question_id"], "turn": r["turn"], "method": m,
             "first_diff": v.get("first_diff")}
            for r in self.per_prompt for m, v in r["methods"].items() if not v["exact"]
        ]  # fmt: skip

    @property
    def failures(self) -> list[dict[str, Any]]:
        """Mismatches that are errors: any mismatch when exactness is required (fp32)."""
        return self.mismatches if self.meta.get("exact_required") else []

    def to_json(self) -> dict[str, Any]:
        meta = {
            **self.meta,
            "schema": SCHEMA,
            "interrupted": self.interrupted,
            "completed_prompts": len(self.per_prompt),
        }
        return {
            "meta": meta,
            "summary": self.summary,
            "per_category": self.per_category,
            "per_prompt": self.per_prompt,
        }

    def save(self, path: str | os.PathLike) -> Path:
        """Write the JSON atomically (temp file + rename), so an interrupted write leaves the
        previous file intact."""
        return write_atomic(path, json.dumps(self.to_json(), indent=1))


def load_result(path: str | os.PathLike) -> BenchResult:
    """Read a result saved by :meth:`BenchResult.save` (summaries are recomputed)."""
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    meta = dict(data["meta"])
    if meta.get("schema") != SCHEMA:
        raise ValueError(f"{path}: not a trviz bench result (schema {meta.get('schema')!r})")
    return BenchResult(meta, list(data["per_prompt"]), bool(meta.get("interrupted")))
