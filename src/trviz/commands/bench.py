"""``trviz bench``: speedup and MAT per category for every method; ``--sweep-trees`` picks a tree.

    trviz bench --dtype float32 --json runs/bench-fp32.json --markdown runs/bench-fp32.md
    trviz bench --per-category 1 --max-new-tokens 32 --methods ar tr      # a quick look
    trviz bench --prompts question.jsonl --methods ar pld tr              # Spec-Bench's file
    trviz bench --sweep-trees --dtype bfloat16                            # cost curve + tree

Exit status: 0, 1 if an fp32 output differed from ``ar``'s, 130 after Ctrl-C (the finished
turns are still written).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trviz.bench.methods import DEFAULT_METHODS, METHODS, START_MODES
from trviz.bench.suite import DEFAULT_MAX_NEW_TOKENS, DEFAULT_PER_CATEGORY
from trviz.commands.args import check_model_args, check_outputs, positive_int
from trviz.errors import ConfigError
from trviz.plumbing import write_atomic


def register(sub) -> None:
    p = sub.add_parser(
        "bench",
        help="benchmark TR against greedy, HF and PLD per category",
        description=__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument(
        "--prompts",
        type=Path,
        help="JSONL prompts (Spec-Bench or simple format); default: the built-in offline suite",
    )
    p.add_argument(
        "--methods",
        nargs="+",
        default=[",".join(DEFAULT_METHODS)],
        help=f"methods, space- or comma-separated (default {','.join(DEFAULT_METHODS)}); "
        "see --list-methods",
    )
    p.add_argument("--list-methods", action="store_true", help="print the methods and exit")
    p.add_argument(
        "--max-new-tokens",
        type=positive_int,
        default=DEFAULT_MAX_NEW_TOKENS,
        help=f"new tokens per answer (default {DEFAULT_MAX_NEW_TOKENS})",
    )
    p.add_argument("--model", default=None, help="HF id or local folder (default: SmolLM2-135M)")
    p.add_argument("--dtype", default="float32", help="float32 (exact) or bfloat16/float16")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--tree", default=None, help="tree preset for the 'tr' method (default auto)")
    p.add_argument("--k", type=positive_int, default=None, help="candidates per row for 'tr'")
    p.add_argument(
        "--start",
        choices=START_MODES,
        default="hot",
        help="TR matrix: hot (carried across prompts), cold (fresh per prompt), "
        "seeded (fresh + prompt rows seeded)",
    )
    p.add_argument(
        "--per-category",
        type=positive_int,
        default=None,
        help=f"questions per category (built-in suite: 1..5, default "
        f"{DEFAULT_PER_CATEGORY}; prompt files: default all)",
    )
    p.add_argument("--limit", type=positive_int, help="at most this many questions")
    p.add_argument("--repeats", type=positive_int, default=1, help="time each call N times")
    p.add_argument("--json", type=Path, help="write the result JSON here (rewritten per turn)")
    p.add_argument("--markdown", type=Path, help="write the Markdown tables here")
    p.add_argument("--html", type=Path, help="write the plotly figures to an offline HTML file")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.add_argument(
        "--sweep-trees",
        action="store_true",
        help="measure forward cost vs tokens and each tree's MAT (on 4 built-in prompts, or "
        "the first turns of --prompts), report break-even MATs, pick and cache the tree",
    )
    p.add_argument(
        "--no-save",
        action="store_true",
        help="with --sweep-trees: do not cache the choice for tree='auto'",
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    if args.list_methods:
        for name, m in METHODS.items():
            print(f"{name:16s} {m.description}")
        return 0
    import trviz

    questions = check(args)
    print(
        f"loading {args.model or 'SmolLM2-135M-Instruct (embedded)'} ({args.dtype})...",
        file=sys.stderr,
    )
    model, tok = trviz.load_model(args.model, dtype=args.dtype, device=args.device)
    if args.sweep_trees:
        return _sweep(args, model, tok, questions)
    return _bench(args, model, tok, questions)


# what a tree sweep does not use: refused when set, rather than ignored
SWEEP_IGNORES = {"--markdown": None, "--tree": None, "--k": None, "--repeats": 1, "--start": "hot"}


def check(args: argparse.Namespace):
    """Every argument and file, before the model loads; returns the questions (None: the sweep's
    built-in prompts)."""
    from trviz.bench.methods import get_method
    from trviz.config import TRConfig

    check_model_args(args)
    check_outputs(args, ("--json", "--markdown", "--html"), inputs=("--prompts",))
    if args.sweep_trees:
        for option, default in SWEEP_IGNORES.items():
            if getattr(args, option[2:]) != default:
                raise ConfigError(f"{option} does not apply to --sweep-trees")
        if args.prompts is None and (args.per_category or args.limit):
            raise ConfigError("--per-category/--limit apply to --prompts (the sweep has its own)")
        return _questions(args) if args.prompts else None
    if args.no_save:
        raise ConfigError("--no-save only applies with --sweep-trees")
    args.methods = [m for part in args.methods for m in part.split(",") if m]
    if not args.methods:
        raise ConfigError("--methods: no methods given; see --list-methods")
    for name in args.methods:
        get_method(name)
    overrides = {key: v for key, v in (("tree", args.tree), ("k", args.k)) if v is not None}
    TRConfig.preset("default", **overrides)  # as the 'tr' method will build it
    return _questions(args)


def _questions(args: argparse.Namespace):
    from trviz.bench.suite import builtin_suite, load_prompts, select

    if args.prompts is None:
        qs = builtin_suite(args.per_category or DEFAULT_PER_CATEGORY)
        return select(qs, limit=args.limit)
    return select(load_prompts(args.prompts), args.per_category, args.limit)


def _bench(args: argparse.Namespace, model, tok, questions) -> int:
    from trviz.bench import report
    from trviz.bench.runner import run_bench

    save = (lambda r: r.save(args.json)) if args.json else None
    result = run_bench(
        model,
        tok,
        questions,
        max_new_tokens=args.max_new_tokens,
        methods=args.methods,
        start=args.start,
        tree=args.tree,
        k=args.k,
        repeats=args.repeats,
        progress=not args.no_progress,
        on_item=save,
        meta={
            "suite": str(args.prompts) if args.prompts else "builtin",
            "command": "trviz " + " ".join(sys.argv[1:]),
        },
    )
    print(report.to_text(result))
    _write(args, result)
    if result.failures:
        print(
            f"\nFAILED: {len(result.failures)} outputs differ from {result.baseline} in "
            f"{result.meta['dtype']} (Token Recycling must be lossless)",
            file=sys.stderr,
        )
        return 1
    return 130 if result.interrupted else 0


def _write(args: argparse.Namespace, result) -> None:
    from trviz.bench import report

    if args.json:
        print(f"JSON: {result.save(args.json)}")
    if args.markdown:
        write_atomic(args.markdown, report.to_markdown(result))
        print(f"Markdown: {args.markdown}")
    if args.html:
        _html(args.html, [report.speedup_figure(result), report.mat_speedup_figure(result)])


def _sweep(args: argparse.Namespace, model, tok, questions) -> int:
    import json

    from trviz.bench import report
    from trviz.bench.sweep import sweep_trees

    prompts = [q.turns[0] for q in questions] if questions else None
    data = sweep_trees(
        model,
        tok,
        prompts=prompts,
        max_new_tokens=args.max_new_tokens,
        save=not args.no_save,
        log=lambda s: print(s, file=sys.stderr),
    )
    print(report.sweep_text(data))
    if "cache_file" in data:
        print(f"cached for tree='auto': {data['cache_file']}")
    if args.json:
        write_atomic(args.json, json.dumps(data, indent=1))
        print(f"JSON: {args.json}")
    if args.html:
        _html(args.html, [report.cost_curve_figure(data)])
    return 0


def _html(path: Path, figures) -> None:
    from trviz.export import save_figures

    print(f"HTML: {save_figures(figures, path, 'trviz bench')}")
