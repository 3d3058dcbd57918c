"""Measure what full-level recording costs: bytes per step in memory and on disk.

    flock /tmp/trviz-heavy.lock .venv/bin/python tests/data/measure_memory.py [--tokens 4096]

Runs SmolLM2-135M-Instruct (fp32, CPU) with the paper tree ("2.2.2", 80 drafts, k=8) at
record="full" on a prompt that produces a long answer, then sizes the trace: deep size of the step
records in memory (every object counted once) and the size of the saved JSON. Prints the figures
quoted in docs/views.md. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

import trviz

PROMPT = "Count from 1 to 3000, one number per line, with no other text."


def deep_size(obj, seen: set[int] | None = None) -> int:
    """Bytes of ``obj`` and everything it references (each object once)."""
    seen = set() if seen is None else seen
    if id(obj) in seen:
        return 0
    seen.add(id(obj))
    size = sys.getsizeof(obj)
    if isinstance(obj, dict):
        size += sum(deep_size(k, seen) + deep_size(v, seen) for k, v in obj.items())
    elif isinstance(obj, (list, tuple, set, frozenset)):
        size += sum(deep_size(x, seen) for x in obj)
    elif hasattr(obj, "__dataclass_fields__"):
        size += sum(deep_size(getattr(obj, f), seen) for f in obj.__dataclass_fields__)
    return size


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=4096)
    ap.add_argument(
        "--save",
        type=Path,
        default=Path("runs/long-trace.json"),
        help="keep the long trace (for measuring animation limits)",
    )
    args = ap.parse_args()
    model, tok = trviz.load_model(dtype="float32", device="cpu")
    t0 = time.perf_counter()
    r = trviz.generate(model, tok, PROMPT, args.tokens, "paper", record="full")
    wall = time.perf_counter() - t0
    steps = r.trace.steps
    mem = deep_size(steps)
    saved = r.trace.save(args.save) if args.save else None
    with tempfile.TemporaryDirectory() as d:
        disk = r.trace.save(Path(d) / "t.json").stat().st_size
    print(
        f"paper tree, record='full': {r.stats.new_tokens} tokens in {len(steps)} steps "
        f"(MAT {r.stats.mat:.2f}, finish {r.finish_reason}, {wall:.0f} s)"
    )
    print(f"  in memory: {mem / 1e6:.1f} MB total, {mem / len(steps) / 1e3:.1f} kB per step")
    print(f"  saved JSON: {disk / 1e6:.1f} MB total, {disk / len(steps) / 1e3:.1f} kB per step")
    summary = trviz.generate(model, tok, PROMPT, 256, "paper", record="summary").trace.steps
    if saved:
        print(f"  trace kept at {saved}")
    print(f"  record='summary': {deep_size(summary) / len(summary):.0f} bytes per step in memory")


if __name__ == "__main__":
    main()
