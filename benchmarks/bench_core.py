"""Core benchmark: Token Recycling vs plain greedy on the same engine, fp32 and bf16, one run.

    python benchmarks/bench_core.py [--max-new-tokens 128] [--repeats 1] [--dtypes float32 bfloat16]

Protocol: SmolLM2-135M-Instruct, hot start (one warm-up prompt feeds each TR matrix, then it is
carried across prompts), methods interleaved prompt by prompt in rotating order so machine drift
hits all of them, prefill included in every time. Prints per prompt and overall: tokens/s of
greedy, TR (default config: the device's tree) and TR-paper (80-node tree), speedups, MAT, the
per-step overhead (everything but the model forward) and, in bf16, the token mismatch rate of each
TR run against bf16 greedy (fp32 must be identical: any mismatch is reported as an error).
"""

from __future__ import annotations

import argparse
import os
import platform

import torch

import trviz
from trviz.bench.suite import DEMO_PROMPTS
from trviz.bench.suite import DEMO_WARMUP_PROMPT as WARMUP_PROMPT
from trviz.run import choose_tree

PROMPTS = {
    **DEMO_PROMPTS,
    "code-cont": "def merge_sorted(a: list[int], b: list[int]) -> list[int]:\n"
    '    """Merge two sorted lists into one sorted list."""\n',
    "summary": "Summarize in two sentences: Python's `with` statement wraps the execution of a "
    "block with methods defined by a context manager, so that common try/except/finally usage "
    "patterns can be encapsulated for convenient reuse. A context manager handles the entry "
    "into, and the exit from, the desired runtime context for the execution of the block.",
    "math": "A shop sells pens at 3 dollars each and notebooks at 5 dollars each. Tom buys 4 "
    "pens and 2 notebooks. How much does he pay? Think step by step.",
}


def mismatch(a: list[int], b: list[int]) -> int:
    """Positions where two generations differ (length difference counts as mismatches)."""
    return sum(x != y for x, y in zip(a, b)) + abs(len(a) - len(b))


def run_dtype(dtype: str, max_new: int, repeats: int) -> dict:
    model, tok = trviz.load_model(dtype=dtype, device="cpu")
    cfgs = {"tr": trviz.TRConfig.preset("default"), "tr-paper": trviz.TRConfig.preset("paper")}
    choice = choose_tree(cfgs["tr"], model)
    print(f"\n== {dtype}: default tree {choice.tree!r} ({choice.source}); paper tree 2.2.2 ==")
    matrices = {
        name: trviz.generate(model, tok, WARMUP_PROMPT, max_new, cfg, record="none").matrix
        for name, cfg in cfgs.items()
    }
    trviz.greedy(model, tok, WARMUP_PROMPT, 16, record="none")  # warm kernels
    tot = {
        m: {"wall": 0.0, "new": 0, "steps": 0, "mismatch": 0, "phases": {}}
        for m in ("greedy", *cfgs)
    }
    head = (
        f"{'prompt':<10} {'greedy t/s':>10} "
        + " ".join(f"{m + ' t/s':>12} {'x':>5} {'MAT':>5}" for m in cfgs)
        + "  identical"
    )
    print(head)
    for _ in range(repeats):
        for i, (name, prompt) in enumerate(PROMPTS.items()):
            order = ["greedy", *cfgs]
            order = order[i % 3 :] + order[: i % 3]  # rotate who goes first
            res = {}
            for m in order:
                if m == "greedy":
                    res[m] = trviz.greedy(model, tok, prompt, max_new, record="none")
                else:
                    res[m] = trviz.generate(
                        model, tok, prompt, max_new, cfgs[m], matrix=matrices[m], record="none"
                    )
                    matrices[m] = res[m].matrix
            g = res["greedy"]
            cells = []
            for m, r in res.items():
                t = tot[m]
                t["wall"] += r.stats.wall_s
                t["new"] += r.stats.new_tokens
                t["steps"] += r.stats.steps
                t["mismatch"] += mismatch(r.tokens, g.tokens)
                for ph, s in r.stats.phase_s.items():
                    t["phases"][ph] = t["phases"].get(ph, 0.0) + s
            for m in cfgs:
                r = res[m]
                cells.append(
                    f"{r.stats.tokens_per_s:12.1f} "
                    f"{r.stats.tokens_per_s / g.stats.tokens_per_s:5.2f} "
                    f"{r.stats.mat:5.2f}"
                )
            same = all(res[m].tokens == g.tokens for m in cfgs)
            print(
                f"{name:<10} {g.stats.tokens_per_s:10.1f} "
                + " ".join(cells)
                + f"  {'yes' if same else 'NO'}",
                flush=True,
            )
    g = tot["greedy"]
    cells = []
    for m in cfgs:
        t = tot[m]
        tps, gtps = t["new"] / t["wall"], g["new"] / g["wall"]
        cells.append(f"{tps:12.1f} {tps / gtps:5.2f} {t['new'] / t['steps']:5.2f}")
    print(f"{'overall':<10} {g['new'] / g['wall']:10.1f} " + " ".join(cells))
    out = {}
    for m in cfgs:
        t = tot[m]
        ph = t["phases"]
        overhead = 1 - ph.get("forward", 0) / sum(ph.values()) if ph else float("nan")
        rate = t["mismatch"] / max(g["new"], 1)
        out[m] = {
            "speedup": (t["new"] / t["wall"]) / (g["new"] / g["wall"]),
            "mat": t["new"] / t["steps"],
            "mismatch_rate": rate,
            "overhead": overhead,
        }
        print(
            f"  {m}: speedup {out[m]['speedup']:.2f}x, MAT {out[m]['mat']:.2f}, "
            f"per-step overhead {overhead * 100:.1f}% of step time, "
            f"token mismatch vs {dtype} greedy {t['mismatch']}/{g['new']} ({rate * 100:.2f}%)"
        )
        if dtype == "float32" and t["mismatch"]:
            print(f"  ERROR: {m} differs from greedy in fp32")
    m = matrices["tr"]
    print(f"  matrix: {m!r} ({m.nbytes} bytes)")
    recording_cost(model, tok, cfgs["tr"], matrices["tr"], max_new)
    return out


def recording_cost(model, tok, cfg, matrix, max_new: int, rounds: int = 3) -> None:
    """Seconds per step with no hook / summary records / full records, interleaved."""
    prompt = PROMPTS["code"]
    per_step: dict[str, list[float]] = {"none": [], "summary": [], "full": []}
    for _ in range(rounds):
        for level in per_step:
            r = trviz.generate(model, tok, prompt, max_new, cfg, matrix=matrix, record=level)
            per_step[level].append(r.stats.wall_s / r.stats.steps)
    base = min(per_step["none"])
    print(
        f"  recording cost (best of {rounds}, per step): "
        + ", ".join(
            f"{lvl} {min(v) * 1000:.1f} ms ({min(v) / base:.3f}x)" for lvl, v in per_step.items()
        )
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--repeats", type=int, default=1)
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    args = ap.parse_args()
    print(
        f"trviz {trviz.__version__}, torch {torch.__version__}, threads "
        f"{torch.get_num_threads()}, {platform.processor() or platform.machine()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for dtype in args.dtypes:
        run_dtype(dtype, args.max_new_tokens, args.repeats)


if __name__ == "__main__":
    main()
