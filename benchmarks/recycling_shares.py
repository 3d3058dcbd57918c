"""Where accepted drafts come from, on the built-in bench suite: `trviz.recycling_stats` measured.

    flock -s /tmp/trviz-cpu.lock .venv/bin/python benchmarks/recycling_shares.py [--configs ...]

Protocol as `trviz bench` runs TR (fp32, CPU, hot start): the warm-up prompts, then every question
turn of the built-in suite (multi-turn questions see the earlier turns with the model's answers),
one matrix carried across all of them. Every run is recorded at `record="full"` and the earlier
runs are passed as `history`, so a matrix entry written in the warm-up or an earlier prompt keeps
its true writer (path or rejected node) instead of counting as "hot start". Warm-up drafts are not
counted. Counts do not depend on timing, so a busy machine gives the same table.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import Counter

import trviz
from trviz.bench.runner import _turn_prompt
from trviz.bench.suite import WARMUP_PROMPTS, builtin_suite
from trviz.recycling import SOURCES, recycling_stats
from trviz.run import choose_tree


def run_config(model, tok, name: str, max_new_tokens: int) -> tuple[Counter, dict, str]:
    """(counts by source, counts by category, tree name) for one config preset."""
    cfg = trviz.TRConfig.preset(name)
    tree = choose_tree(cfg, model).tree
    history: list[trviz.Trace] = []
    matrix = None
    for prompt in WARMUP_PROMPTS:
        r = trviz.generate(model, tok, prompt, max_new_tokens, cfg, matrix=matrix, record="full")
        matrix, history = r.matrix, [*history, r.trace]
    total: Counter = Counter()
    by_category: dict[str, Counter] = {}
    steps = tokens = 0
    for q in builtin_suite():
        turns: list[dict[str, str]] = []
        for turn, text in enumerate(q.turns):
            r = trviz.generate(model, tok, _turn_prompt(q, turn, turns), max_new_tokens, cfg,
                               matrix=matrix, record="full")  # fmt: skip
            counts = recycling_stats(r.trace, history)["counts"]
            total.update(counts)
            by_category.setdefault(q.category, Counter()).update(counts)
            steps, tokens = steps + len(r.trace), tokens + r.trace.new_tokens
            print(f"  {name} {q.qid} turn {turn}: {dict(counts)}", file=sys.stderr, flush=True)
            matrix, history = r.matrix, [*history, r.trace]
            turns += [{"role": "user", "content": text}, {"role": "assistant", "content": r.text}]
    return total, by_category, f"{tree.name} ({tree.size} tokens/forward), MAT {tokens / steps:.2f}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--configs", nargs="+", default=["paper", "default"])
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument("--threads", type=int, help="torch CPU threads (default: torch's choice)")
    args = ap.parse_args()
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    model, tok = trviz.load_model(dtype="float32", device="cpu")
    print("| config | " + " | ".join(SOURCES) + " | accepted drafts |")
    print("|---|" + "---:|" * (len(SOURCES) + 1))
    details = []
    for name in args.configs:
        t0 = time.perf_counter()
        total, by_category, about = run_config(model, tok, name, args.max_new_tokens)
        n = sum(total.values())
        print(f"| {name}: {about} | " + " | ".join(f"{total[s] / n:.1%}" for s in SOURCES)
              + f" | {n} |", flush=True)  # fmt: skip
        rejected = ", ".join(
            f"{c} {v['rejected'] / max(sum(v.values()), 1):.0%}" for c, v in by_category.items()
        )
        details.append(f"{name}: share from rejected nodes by category: {rejected} "
                       f"({time.perf_counter() - t0:.0f} s)")  # fmt: skip
    print("\n".join(details))


if __name__ == "__main__":
    main()
