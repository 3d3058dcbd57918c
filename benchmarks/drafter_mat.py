"""Drafters compared without a stopwatch: MAT, tokens per forward and cost-model speedup.

    python benchmarks/drafter_mat.py [--dtype float32] [--per-category 2] [--max-new-tokens 128]
        [--methods tr tr-static tr-lookup ...] [--threads 1]

MAT and tokens per forward do not depend on timing, so this runs on a busy machine (one thread
is enough). Every method decodes the built-in suite's first turns plus the demo prompts with a hot
start (3 warm-up prompts), outputs checked against greedy. *Predicted* speedup = the seconds
greedy's one-token steps would take over the seconds each method's steps would take, both priced
by the same cost model (`trviz.run.choose_cost`: the budget's own curve, at each step's real
context length) -- a prediction, not a timing: `trviz bench` measures.
"""

from __future__ import annotations

import argparse
from collections import defaultdict

import torch

import trviz
from trviz.bench.methods import MethodState, get_method
from trviz.bench.suite import DEMO_PROMPTS, WARMUP_PROMPTS, builtin_suite
from trviz.config import TRConfig
from trviz.run import choose_cost


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--per-category", type=int, default=1)
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--methods", nargs="+", default=["tr", "tr-static", "tr-lookup"])
    args = ap.parse_args()
    torch.set_num_threads(args.threads)
    model, tok = trviz.load_model(dtype=args.dtype, device="cpu")
    cost = choose_cost(model)
    print(f"cost model: {cost.source}")
    prompts = [(q.category, q.turns[0]) for q in builtin_suite(args.per_category)]
    prompts += [(f"demo-{name}", p) for name, p in DEMO_PROMPTS.items()]
    greedy = {
        p: trviz.greedy(model, tok, p, args.max_new_tokens, record="none") for _, p in prompts
    }
    for name in args.methods:
        state, fn = MethodState(), get_method(name).fn
        for p in WARMUP_PROMPTS:
            state.matrix = fn(model, tok, p, args.max_new_tokens, state).matrix
        per: dict[str, list[float]] = defaultdict(lambda: [0.0] * 5)
        for cat, p in prompts:
            r = run_recorded(fn, model, tok, p, args.max_new_tokens, state)
            g = greedy[p]
            assert r.tokens == g.tokens or args.dtype != "float32", (name, cat)
            t = sum(cost.step_costs(s.cache_len + 1, len(s.tokens or ()) or 1)[-1] for s in r.trace)
            tg = sum(cost.step_costs(len(g.prompt_ids) + i, 1)[0] for i in range(len(g.tokens)))
            row = per["all"], per[cat]
            for d in row:
                d[0] += t
                d[1] += tg
                d[2] += len(r.tokens)
                d[3] += r.stats.steps
                d[4] += r.stats.verified
        cells = "  ".join(
            f"{c}: {d[1] / d[0]:.2f}x MAT {d[2] / d[3]:.2f} q {d[4] / d[3]:.1f}"
            for c, d in per.items()
        )
        print(f"{name:18s} {cells}", flush=True)
        est = state.matrix.acceptance
        if est is not None:
            for regime in range(3):
                print(f"   estimates after {regime} accepted: {est.summary(regime)}")


def run_recorded(fn, model, tok, prompt, max_new_tokens, state):
    """The method's own config (as its description reports it), run with a full trace."""
    cfg = TRConfig(**fn.describe(model, state)["config"])
    r = trviz.generate(model, tok, prompt, max_new_tokens, cfg, matrix=state.matrix)
    state.matrix = r.matrix
    return r


if __name__ == "__main__":
    main()
