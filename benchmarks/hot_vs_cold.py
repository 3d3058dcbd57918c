"""A matrix that lasts: MAT per category when TR starts cold, seeded, or hot from a saved file.

    flock /tmp/trviz-heavy.lock python benchmarks/hot_vs_cold.py [--per-category 2]
        [--max-new-tokens 96] [--dtype float32] [--config default] [--matrix-file PATH]

Protocol (SmolLM2-135M-Instruct on CPU): a "service" decodes the three warm-up prompts of the
built-in suite and saves its matrix to a file; a fresh start then loads that file (with its
vocabulary fingerprint check) and answers the evaluation prompts, each from the same loaded
matrix, so no prompt's figure depends on the order. The same prompts are decoded cold (fresh
matrix) and seeded (fresh matrix whose prompt rows are written from the prefill logits). The
evaluation prompts are the first turns of the built-in suite's questions (none of them is a
warm-up prompt). The three starts run interleaved per prompt in rotating order; in fp32 their
tokens must be identical (TR is lossless whatever the matrix holds), which the script checks.
Prints MAT per prompt and per category, and tokens/s of each start relative to cold.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import trviz
from trviz.bench.suite import SHORT_NAMES, WARMUP_PROMPTS, builtin_suite
from trviz.matrix import load_matrix
from trviz.model import tokenizer_fingerprint
from trviz.run import choose_tree

STARTS = ("cold", "seeded", "hot")


def build_hot_file(model, tok, config: str, max_new: int, path: Path) -> Path:
    matrix = None
    for prompt in WARMUP_PROMPTS:
        matrix = trviz.generate(model, tok, prompt, max_new, config, matrix, record="none").matrix
    return matrix.save(path)


def run_start(start: str, model, tok, prompt: str, config: str, max_new: int, hot):
    cfg = trviz.TRConfig.preset(config, seed_from_prompt=start == "seeded")
    matrix = hot if start == "hot" else None
    return trviz.generate(model, tok, prompt, max_new, cfg, matrix, record="none")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--per-category", type=int, default=2)
    ap.add_argument("--max-new-tokens", type=int, default=96)
    ap.add_argument("--dtype", default="float32")
    ap.add_argument("--config", default="default", choices=("default", "paper"))
    ap.add_argument(
        "--matrix-file",
        type=Path,
        default=None,
        help="where the warm-up matrix is saved (default: a temporary file)",
    )
    args = ap.parse_args()

    model, tok = trviz.load_model(dtype=args.dtype, device="cpu")
    path = args.matrix_file or Path(tempfile.mkdtemp(prefix="trviz-hot-")) / "matrix.pt"
    build_hot_file(model, tok, args.config, args.max_new_tokens, path)
    vocab = model.get_output_embeddings().weight.shape[0]
    hot = load_matrix(path, fingerprint=tokenizer_fingerprint(tok, vocab))
    tree = choose_tree(trviz.TRConfig.preset(args.config), model).tree  # lookup branch included
    print(
        f"model {model.name_or_path} {args.dtype}, config {args.config}, tree {tree.name} "
        f"({tree.size} tokens/forward), {args.max_new_tokens} new tokens"
    )
    print(
        f"hot matrix: {path} ({hot.written_rows()} rows written, steps_seen {hot.steps_seen}, "
        f"meta {hot.meta})\n"
    )

    questions = builtin_suite(args.per_category)
    totals = {s: {"new": 0, "steps": 0, "wall": 0.0} for s in STARTS}
    per_cat: dict[str, dict[str, list[int]]] = {}
    print(f"{'question':<22}" + "".join(f"{s + ' MAT':>12}" for s in STARTS) + "  identical")
    for i, q in enumerate(questions):
        order = STARTS[i % 3 :] + STARTS[: i % 3]
        res = {
            s: run_start(s, model, tok, q.turns[0], args.config, args.max_new_tokens, hot)
            for s in order
        }
        same = len({tuple(r.tokens) for r in res.values()}) == 1
        print(
            f"{q.qid:<22}"
            + "".join(f"{res[s].stats.mat:>12.2f}" for s in STARTS)
            + f"  {'yes' if same else 'NO'}"
        )
        if not same and args.dtype == "float32":
            print("  ERROR: tokens differ between starts in fp32")
        cat = per_cat.setdefault(q.category, {s: [0, 0] for s in STARTS})
        for s, r in res.items():
            cat[s][0] += r.stats.new_tokens
            cat[s][1] += r.stats.steps
            totals[s]["new"] += r.stats.new_tokens
            totals[s]["steps"] += r.stats.steps
            totals[s]["wall"] += r.stats.wall_s

    head = "".join(f"{s + ' MAT':>12}" for s in STARTS)
    print(f"\n{'category':<10}" + head + f"{'hot/cold':>10}")
    for cat, d in per_cat.items():
        mat = {s: d[s][0] / d[s][1] for s in STARTS}
        print(
            f"{SHORT_NAMES.get(cat, cat):<10}"
            + "".join(f"{mat[s]:>12.2f}" for s in STARTS)
            + f"{mat['hot'] / mat['cold']:>9.2f}x"
        )
    mat = {s: t["new"] / t["steps"] for s, t in totals.items()}
    tps = {s: t["new"] / t["wall"] for s, t in totals.items()}
    print(
        f"{'overall':<10}"
        + "".join(f"{mat[s]:>12.2f}" for s in STARTS)
        + f"{mat['hot'] / mat['cold']:>9.2f}x"
    )
    print(
        "\ntokens/s (prefill included): "
        + ", ".join(f"{s} {tps[s]:.1f} ({tps[s] / tps['cold']:.2f}x cold)" for s in STARTS)
    )


if __name__ == "__main__":
    main()
