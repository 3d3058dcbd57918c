"""Regenerate the trace fixtures used by the view, text, export and browser tests.

Run from the repository root (loads SmolLM2-135M-Instruct; heavy, so under the shared lock):

    flock -s /tmp/trviz-cpu.lock .venv/bin/python tests/data/make_fixtures.py [NAME ...]

``trace-paper.json`` is the paper's configuration (80-node "2.2.2" tree, zero-filled matrix: token-0
placeholders); ``trace-small.json`` the default configuration as it ran on a CPU in fp32 before the
per-step budget (tr-8 plus the 5-node prompt-lookup branch, -1 for never-written rows), on a prompt
whose answer copies from its context, so the lookup branch drafts; ``trace-budget.json`` today's
default preset (a per-step budget over the CPU candidate template, longest-match copying), on the
same prompt, so the budget verifies copied chains and prunes the rest.

Each fixture is a full-level trace of one short prompt, decoded after a warm-up prompt (hot start,
as in the paper), in fp32 on CPU. The tests load them with ``trviz.load_trace`` and never need the
model. Timings inside are whatever this machine measured; tests never assert on them.
"""

from __future__ import annotations

import sys
from pathlib import Path

import trviz
from trviz.config import DEFAULT

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
        {**DEFAULT, "tree": "tr-8"},  # what tree="auto" resolves to on a CPU in fp32
        "Repeat this sentence twice, then translate it into French: "
        "The quick brown fox jumps over the lazy dog near the river bank.",
        48,
    ),
    "trace-budget.json": (
        "default",  # the per-step budget: candidates pruned by predicted gain per cost
        "Repeat this sentence twice, then translate it into French: "
        "The quick brown fox jumps over the lazy dog near the river bank.",
        48,
    ),
}


def main() -> None:
    model, tok = trviz.load_model(dtype="float32", device="cpu")
    wanted = sys.argv[1:] or list(FIXTURES)
    for name, (config, prompt, n) in FIXTURES.items():
        if name not in wanted:
            continue
        warm = trviz.generate(model, tok, WARMUP, 64, config, record="none")
        r = trviz.generate(model, tok, prompt, n, config, matrix=warm.matrix, record="full")
        greedy = trviz.greedy(model, tok, prompt, n, record="none")
        assert r.tokens == greedy.tokens, f"{name}: TR differs from greedy"
        path = r.trace.save(HERE / name)
        print(f"{path}: {len(r.trace)} steps, MAT {r.stats.mat:.2f}, {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
