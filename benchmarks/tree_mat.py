"""Mean accepted tokens (MAT) per draft tree, and per-rank acceptance rates, on SmolLM2.

MAT and acceptance do not depend on timing, so this measurement is exact and repeatable on a
busy machine. Hot start: one warm-up prompt feeds the matrix, then it is carried across prompts.

    python benchmarks/tree_mat.py [--max-new-tokens 128] [--trees 2.2.2 tr-8 tr-16 ...]

Prints, per tree: MAT on each prompt and overall; then, from the paper tree's full trace, the
probability that the true next token sits at rank r of the matrix row that was read (the rates
`trviz.trees.DEFAULT_RATES` is set from).
"""

from __future__ import annotations

import argparse
from collections import Counter

import trviz
from trviz.bench.suite import DEMO_PROMPTS
from trviz.bench.suite import DEMO_WARMUP_PROMPT as WARMUP_PROMPT

EXTRA_PROMPTS = {
    "code2": "def merge_sorted(a: list[int], b: list[int]) -> list[int]:\n"
    '    """Merge two sorted lists into one sorted list."""\n',
    "summary": "Summarize in two sentences: Python's `with` statement wraps the execution of a "
    "block with methods defined by a context manager, so that common try/except/finally usage "
    "patterns can be encapsulated for convenient reuse.",
    "math": "A shop sells pens at 3 dollars each and notebooks at 5 dollars each. Tom buys 4 pens "
    "and 2 notebooks. How much does he pay? Think step by step.",
}


def rank_rates(trace, k: int) -> Counter:
    """Count, over every verified position, the rank of the true next token in the row read."""
    hits: Counter = Counter()
    for s in trace.steps:
        path = (0, *s.accepted)
        for node in path:
            row = s.rows_read.get(s.tokens[node]) if s.tokens[node] >= 0 else None
            true = s.argmax[node]
            if row is None:
                hits["unread"] += 1
            elif true in row:
                hits[row.index(true)] += 1
            else:
                hits["miss"] += 1
    return hits


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--max-new-tokens", type=int, default=128)
    ap.add_argument(
        "--trees", nargs="+", default=["2.2.2", "tr-8", "tr-12", "tr-16", "tr-24", "tr-32", "tr-40"]
    )
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--dedupe", action="store_true", help="use the default config's -1 fill")
    ap.add_argument("--lookup", type=int, default=0, help="prompt-lookup branch length")
    ap.add_argument("--seed-from-prompt", action="store_true")
    args = ap.parse_args()
    model, tok = trviz.load_model(dtype=args.dtype)
    prompts = {**DEMO_PROMPTS, **EXTRA_PROMPTS}
    print(f"{'tree':>8} {'nodes':>5} " + " ".join(f"{p:>8}" for p in prompts) + "  overall")
    for tree in args.trees:
        cfg = trviz.TRConfig(
            tree=tree,
            dedupe=args.dedupe,
            lookup=args.lookup,
            seed_from_prompt=args.seed_from_prompt,
        )
        warm = trviz.generate(model, tok, WARMUP_PROMPT, args.max_new_tokens, cfg, record="none")
        m = warm.matrix
        mats, new, steps, hits = [], 0, 0, Counter()
        for p in prompts.values():
            r = trviz.generate(
                model,
                tok,
                p,
                args.max_new_tokens,
                cfg,
                matrix=m,
                record="full" if tree == "2.2.2" and not args.lookup else "none",
            )
            m = r.matrix
            mats.append(r.stats.mat)
            new += r.stats.new_tokens
            steps += r.stats.steps
            if r.trace is not None:
                hits += rank_rates(r.trace, cfg.k)
        size = trviz.get_tree(tree).n_nodes + args.lookup
        print(
            f"{tree:>8} {size:>5} " + " ".join(f"{x:8.2f}" for x in mats) + f"  {new / steps:.3f}",
            flush=True,
        )
        if hits:
            total = sum(hits.values())
            ranks = [hits[r] / total for r in range(cfg.k)]
            print(
                "   P(true next token at rank r of the row read): "
                + ", ".join(f"{x:.3f}" for x in ranks)
                + f"; not in row {hits['miss'] / total:.3f}; node drafted no children "
                f"{hits['unread'] / total:.3f}",
                flush=True,
            )


if __name__ == "__main__":
    main()
