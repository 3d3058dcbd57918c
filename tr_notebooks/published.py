"""Every figure the course quotes and does not measure itself, with its source.

Three sources only: the paper's Table 1, Spec-Bench's public leaderboard, and this project's own
measurements on its 2-core CPU (``docs/benchmarks.md``, each table with the command that produced
it; ``tests/test_notebooks_course.py`` checks that the figures here are the ones in the docs).
Notebooks print them from here, next to what the student measures, so a quoted number and its
source never part.
"""

from __future__ import annotations

PAPER = (
    "Luo et al., Turning Trash into Treasure: Accelerating Inference of Large Language Models "
    "with Token Recycling, ACL 2025 (arXiv 2408.08696), Table 1: Spec-Bench, greedy, fp16, "
    "batch 1, one A100"
)
# Speedup per Spec-Bench category, then overall MAT and speedup of Token Recycling.
PAPER_CATEGORIES = ("MT", "Trans", "Sum", "QA", "Math", "RAG")
PAPER_TABLE1: dict[str, dict[str, float]] = {
    "Vicuna-7B": {"MT": 2.17, "Trans": 1.90, "Sum": 1.94, "QA": 1.95, "Math": 2.40, "RAG": 1.78,
                  "MAT": 2.70, "speedup": 2.03},
    "Vicuna-13B": {"MT": 1.98, "Trans": 1.77, "Sum": 1.89, "QA": 1.75, "Math": 2.21, "RAG": 1.73,
                   "MAT": 2.72, "speedup": 1.89},
    "Vicuna-33B": {"MT": 1.95, "Trans": 1.75, "Sum": 1.92, "QA": 1.77, "Math": 2.24, "RAG": 1.78,
                   "MAT": 2.63, "speedup": 1.91},
}  # fmt: skip
# Same table, Vicuna-7B, other methods' overall speedup.
PAPER_PEERS_7B: dict[str, float] = {"PLD": 1.53, "Lookahead": 1.27, "REST": 1.22, "Medusa": 1.65}

SPEC_BENCH = (
    "Spec-Bench leaderboard (hemingkx/Spec-Bench, Leaderboard.md, 'Leaderboard on 3090'): one "
    "RTX 3090, Vicuna-7B-v1.3, greedy, FP16, batch 1, PyTorch 2.5.1, CUDA 12.1, mean of 3 runs"
)
SPEC_BENCH_3090: dict[str, dict[str, float]] = {
    "Recycling": {"MAT": 2.73, "speedup": 1.40},
    "PLD": {"MAT": 1.73, "speedup": 1.64},
    "SpS (draft model)": {"MAT": 2.28, "speedup": 1.79},
}

HERE = (
    "this project's machine: 2-core AMD EPYC CPU, torch 2.13 (2 threads), "
    "SmolLM2-135M-Instruct, nothing else running (docs/benchmarks.md)"
)
SWEEP_COMMAND = "trviz bench --sweep-trees --no-save --dtype float32   (then --dtype bfloat16)"
# Forward cost over q new tokens on a 256-token cache, relative to one token (median of 5).
ONE_TOKEN_MS = {"float32": 62.4, "bfloat16": 42.1}
COST: dict[str, dict[int, float]] = {
    "float32": {2: 1.60, 4: 1.52, 8: 1.65, 10: 1.85, 14: 1.90, 16: 1.91, 18: 2.09, 22: 2.17,
                24: 2.41, 29: 2.52, 32: 2.52, 37: 2.89, 44: 3.28, 48: 3.35, 64: 3.95, 84: 4.77,
                96: 5.13, 128: 6.53},
    "bfloat16": {2: 0.97, 4: 1.07, 8: 1.12, 10: 1.16, 14: 1.25, 16: 1.27, 18: 1.32, 22: 1.41,
                 24: 1.43, 29: 1.61, 32: 1.65, 37: 1.80, 44: 2.06, 48: 2.11, 64: 2.50, 84: 2.96,
                 96: 3.27, 128: 4.02},
}  # fmt: skip

BENCH_COMMAND = "trviz bench --dtype float32   (then --dtype bfloat16)"
# Built-in suite, 16 turns over 7 categories, 128 new tokens, hot start: (speedup, MAT).
BENCH: dict[str, dict[str, tuple[float, float]]] = {
    "float32": {"ar": (1.00, 1.00), "pld": (1.25, 1.83), "tr": (1.27, 2.17),
                "tr-paper": (0.57, 2.32)},
    "bfloat16": {"ar": (1.00, 1.00), "pld": (1.61, 1.81), "tr": (1.58, 2.41),
                 "tr-paper": (0.76, 2.33)},
}  # fmt: skip

ABLATION_COMMAND = (
    "trviz bench --dtype float32 --methods ar tr tr-nolookup tr-paper-small tr-paper "
    "tr-paper-dedupe tr-paper-lookup"
)
# Same suite, fp32: (tokens per forward, MAT, speedup). Each drafter option at equal tree size.
ABLATION: dict[str, tuple[int, float, float]] = {
    "tr-paper-small": (14, 1.74, 0.95),  # the paper's drafter on a 14-token tree
    "tr-nolookup": (14, 1.76, 0.96),  # + de-duplication
    "tr": (14, 2.17, 1.22),  # + the 5-node prompt-lookup branch: the default
    "tr-paper": (81, 2.32, 0.54),
    "tr-paper-dedupe": (81, 2.37, 0.56),
    "tr-paper-lookup": (84, 2.84, 0.65),
}


def cost_line(dtype: str = "float32", qs: tuple[int, ...] = (8, 14, 22, 32, 84)) -> str:
    """The measured cost of a forward over q tokens here, relative to one token, in one line."""
    cost = COST[dtype]
    parts = ", ".join(f"q={q}: {cost[q]:.2f}x" for q in qs)
    return f"{dtype} forward over q tokens vs one token ({ONE_TOKEN_MS[dtype]} ms): {parts}"
