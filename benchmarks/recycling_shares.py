"""Where accepted drafts come from, on the built-in bench suite: `trviz.recycling_stats` measured.

    flock -s /tmp/trviz-cpu.lock .venv/bin/python benchmarks/recycling_shares.py --config paper

Protocol as `trviz bench` runs TR (fp32, CPU, hot start): the warm-up prompts, then every question
turn of the built-in suite (multi-turn questions see the earlier turns with the model's answers),
one matrix carried across all of them. Every run is recorded at `record="full"`; one pass over all
of them in order (`trviz.recycling.source_counts`) gives each run's counts with the earlier runs as
its history, so a matrix entry written in the warm-up or an earlier prompt keeps its true writer
(path or rejected node) instead of counting as "hot start". Warm-up drafts are not counted.
Counts do not depend on timing, so a busy machine gives the same table. One config per call keeps
the shared lock short.
"""

from __future__ import annotations

import argparse
import time
from collections import Counter

import trviz
from trviz.bench.runner import _turn_prompt
from trviz.bench.suite import WARMUP_PROMPTS, builtin_suite
from trviz.recycling import SOURCES, source_counts
from trviz.run import choose_tree


def run_config(model, tok, name: str, per_category: int, max_new_tokens: int):
    """The warm-up and suite traces of one config preset, in decoding order, with categories."""
    cfg = trviz.TRConfig.preset(name)
    traces, categories, matrix = [], [], None
    for prompt in WARMUP_PROMPTS:
        r = trviz.generate(model, tok, prompt, max_new_tokens, cfg, matrix=matrix, record="full")
        matrix = r.matrix
        traces.append(r.trace)
        categories.append(None)
    for q in builtin_suite(per_category):
        turns: list[dict[str, str]] = []
        for turn, text in enumerate(q.turns):
            r = trviz.generate(model, tok, _turn_prompt(q, turn, turns), max_new_tokens, cfg,
                               matrix=matrix, record="full")  # fmt: skip
            matrix = r.matrix
            traces.append(r.trace)
            categories.append(q.category)
            turns += [{"role": "user", "content": text}, {"role": "assistant", "content": r.text}]
    return traces, categories, choose_tree(cfg, model).tree


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--config", default="paper", help="config preset (paper, default)")
    ap.add_argument("--per-category", type=int, default=2, help="questions per category (1..5)")
    ap.add_argument("--max-new-tokens", type=int, default=128)
    args = ap.parse_args()
    t0 = time.perf_counter()
    model, tok = trviz.load_model(dtype="float32", device="cpu")
    traces, categories, tree = run_config(
        model, tok, args.config, args.per_category, args.max_new_tokens
    )
    total, by_category = Counter(), {}
    for counts, category in zip(source_counts(traces), categories):
        if category is not None:  # the warm-up only feeds the matrix
            total.update(counts)
            by_category.setdefault(category, Counter()).update(counts)
    counted = [t for t, c in zip(traces, categories) if c is not None]
    steps, tokens = sum(len(t) for t in counted), sum(t.new_tokens for t in counted)
    n = sum(total[s] for s in SOURCES)
    print("| config | " + " | ".join(SOURCES) + " | accepted drafts | MAT |")
    print(f"| {args.config}: {tree.name} ({tree.size} tokens/forward) | "
          + " | ".join(f"{total[s] / n:.1%}" for s in SOURCES)
          + f" | {n} | {tokens / steps:.2f} |")  # fmt: skip
    rejected = ", ".join(
        f"{c} {v['rejected'] / max(sum(v.values()), 1):.0%}" for c, v in by_category.items()
    )
    print(f"share from rejected nodes by category: {rejected}")
    print(f"{len(counted)} turns, {args.per_category} per category, {args.max_new_tokens} new "
          f"tokens each; {time.perf_counter() - t0:.0f} s")  # fmt: skip


if __name__ == "__main__":
    main()
