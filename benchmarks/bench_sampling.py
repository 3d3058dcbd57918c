"""Token Recycling under sampling vs plain sampling: MAT and speedup per temperature and dtype.

    flock /tmp/trviz-heavy.lock python benchmarks/bench_sampling.py [--per-category 1]
        [--max-new-tokens 128] [--temperatures 0.3 0.7 1.0] [--dtypes float32 bfloat16]
        [--top-p P] [--tree NAME] [--lookup N]

Protocol (SmolLM2-135M-Instruct on CPU): per dtype, a TR matrix is warmed on the built-in
suite's warm-up prompts (greedy), then carried across the evaluation prompts (hot start). Each
evaluation prompt (first turn of each built-in question) is decoded, at each temperature, by
plain sampling (one token per forward on trviz's engine) and by TR sampling, interleaved in
rotating order, with the same seed for both. Sampled outputs differ from run to run, so the
speedup is a ratio of throughputs over the same prompts (total new tokens / total wall time,
prefill included), not of identical texts. MAT = new tokens per target forward.
"""

from __future__ import annotations

import argparse
import os
import platform

import torch

import trviz
from trviz.bench.suite import WARMUP_PROMPTS, builtin_suite
from trviz.run import choose_tree

METHODS = ("plain", "tr")


def run(method: str, model, tok, prompt: str, max_new: int, matrix, cfg, **sampling):
    if method == "plain":
        return trviz.greedy(model, tok, prompt, max_new, record="none", **sampling)
    return trviz.generate(model, tok, prompt, max_new, cfg, matrix, record="none", **sampling)


def bench_dtype(dtype: str, args) -> list[tuple]:
    model, tok = trviz.load_model(dtype=dtype, device="cpu")
    overrides = {"tree": args.tree} if args.tree else {}
    if args.lookup is not None:
        overrides["lookup"] = args.lookup
    cfg = trviz.TRConfig.preset("default", **overrides)
    tree = choose_tree(cfg, model, sampling=True).tree  # the sampling tree, lookup branch included
    matrix = None
    for prompt in WARMUP_PROMPTS:
        matrix = trviz.generate(
            model, tok, prompt, args.max_new_tokens, cfg, matrix, record="none"
        ).matrix
    trviz.greedy(model, tok, WARMUP_PROMPTS[0], 16, record="none")  # warm kernels
    prompts = [q.turns[0] for q in builtin_suite(args.per_category)]
    print(
        f"\n== {dtype}: tree {tree.name} ({tree.size} tokens/forward), {len(prompts)} prompts, "
        f"{args.max_new_tokens} new tokens, top_p {args.top_p} =="
    )
    rows = []
    for temp in args.temperatures:
        tot = {m: {"new": 0, "steps": 0, "wall": 0.0} for m in METHODS}
        for i, prompt in enumerate(prompts):
            sampling = dict(temperature=temp, top_p=args.top_p, seed=1000 * i + 7)
            for method in METHODS[i % 2 :] + METHODS[: i % 2]:
                r = run(method, model, tok, prompt, args.max_new_tokens, matrix, cfg, **sampling)
                if method == "tr":
                    matrix = r.matrix  # hot start carried across prompts
                t = tot[method]
                t["new"] += r.stats.new_tokens
                t["steps"] += r.stats.steps
                t["wall"] += r.stats.wall_s
        tps = {m: t["new"] / t["wall"] for m, t in tot.items()}
        mat = tot["tr"]["new"] / tot["tr"]["steps"]
        rows.append((dtype, temp, tps["plain"], tps["tr"], mat, tps["tr"] / tps["plain"]))
        print(
            f"T={temp:<4} plain {tps['plain']:6.1f} tok/s | TR {tps['tr']:6.1f} tok/s | "
            f"MAT {mat:.2f} | speedup {tps['tr'] / tps['plain']:.2f}x"
        )
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-category", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--temperatures", type=float, nargs="+", default=[0.3, 0.7, 1.0])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    ap.add_argument("--top-p", type=float, default=None)
    ap.add_argument("--tree", default=None, help="tree preset (default: the auto sampling tree)")
    ap.add_argument("--lookup", type=int, default=None, help="lookup branch length (default: 5)")
    args = ap.parse_args()
    print(
        f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
        f"torch {torch.__version__}, {torch.get_num_threads()} threads"
    )
    rows = [row for dtype in args.dtypes for row in bench_dtype(dtype, args)]
    print("\n| dtype | T | plain tok/s | TR tok/s | TR MAT | speedup |\n|---|---|---|---|---|---|")
    for dtype, temp, plain, tr, mat, speedup in rows:
        print(f"| {dtype} | {temp} | {plain:.1f} | {tr:.1f} | {mat:.2f} | {speedup:.2f}x |")


if __name__ == "__main__":
    main()
