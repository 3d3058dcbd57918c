"""Regenerate the trace fixtures used by the view, text, export and browser tests.

Run from the repository root (loads SmolLM2-135M-Instruct; heavy, so under the shared lock):

    flock /tmp/trviz-heavy.lock .venv/bin/python tests/data/make_fixtures.py

Each fixture is a full-level trace of one short prompt, decoded after a warm-up prompt (hot start,
as in the paper), in fp32 on CPU. The tests load them with ``trviz.load_trace`` and never need the
model. Timings inside are whatever this machine measured; tests never assert on them.
"""

from __future__ import annotations

from pathlib import Path

import trviz

HERE = Path(__file__).parent
WARMUP = "List five fruits and one fact about each."
FIXTURES = {
    # name: (config, prompt, max_new_tokens)
    "trace-paper.json": (
        "paper",
        "Write a Python function that checks whether a number is prime.",
        64,
    ),
    "trace-small.json": (
        {"tree": "tr-8", "name": "tr-8"},
        "Explain in two sentences why the sky is blue.",
        40,
    ),
}


def main() -> None:
    model, tok = trviz.load_model(dtype="float32", device="cpu")
    for name, (config, prompt, n) in FIXTURES.items():
        warm = trviz.generate(model, tok, WARMUP, 64, config, record="none")
        r = trviz.generate(model, tok, prompt, n, config, matrix=warm.matrix, record="full")
        greedy = trviz.greedy(model, tok, prompt, n, record="none")
        assert r.tokens == greedy.tokens, f"{name}: TR differs from greedy"
        path = r.trace.save(HERE / name)
        print(f"{path}: {len(r.trace)} steps, MAT {r.stats.mat:.2f}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
