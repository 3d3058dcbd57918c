"""``trviz demo``: Token Recycling vs plain greedy on a few built-in prompts, side by side."""

from __future__ import annotations

import argparse
from pathlib import Path

from trviz.bench.suite import DEFAULT_MAX_NEW_TOKENS, DEMO_PROMPTS, DEMO_WARMUP_PROMPT
from trviz.commands.args import check_model_args, check_outputs, positive_int


def register(sub) -> None:
    p = sub.add_parser("demo", help="run TR and greedy on built-in prompts and print a table")
    p.add_argument("--model", default=None, help="HF id or local folder (default: SmolLM2-135M)")
    p.add_argument("--dtype", default="float32", help="float32 (exact) or bfloat16 (speed mode)")
    p.add_argument("--device", default=None, help="cpu or cuda (default: cuda if available)")
    p.add_argument("--config", default="default", help="TR config preset: default or paper")
    p.add_argument("--max-new-tokens", type=positive_int, default=DEFAULT_MAX_NEW_TOKENS)
    p.add_argument(
        "--trace",
        type=Path,
        default=Path("runs/demo-trace.json"),
        help="where to save the last prompt's trace",
    )
    p.set_defaults(func=run)


def check(args: argparse.Namespace):
    """Every argument, before the model loads: the model, dtype, device, the config preset and
    where the trace goes. Returns the config."""
    import trviz

    check_model_args(args)
    check_outputs(args, ("--trace",))
    return trviz.TRConfig.preset(args.config)


def run(args: argparse.Namespace) -> int:
    import trviz
    from trviz.run import choose_tree

    cfg = check(args)
    print(f"loading {args.model or 'SmolLM2-135M-Instruct (embedded)'} ({args.dtype})...")
    model, tok = trviz.load_model(args.model, dtype=args.dtype, device=args.device)
    choice = choose_tree(cfg, model)  # the tree generate verifies, and why
    print(f"config {args.config!r}: {describe_drafter(cfg, choice, model)}")

    # warm-up: fills the matrix (hot start, as in the paper) and warms the kernels
    warm = trviz.generate(model, tok, DEMO_WARMUP_PROMPT, args.max_new_tokens, cfg, record="none")
    trviz.greedy(model, tok, DEMO_WARMUP_PROMPT, 16, record="none")
    matrix = warm.matrix

    rows, last = [], None
    for name, prompt in DEMO_PROMPTS.items():
        g = trviz.greedy(model, tok, prompt, args.max_new_tokens, record="none")
        r = trviz.generate(model, tok, prompt, args.max_new_tokens, cfg, matrix=matrix)
        matrix, last = r.matrix, r
        rows.append((name, r, g))
    _print_table(rows)
    path = last.trace.save(args.trace)
    print(
        f"\ntrace of the {list(DEMO_PROMPTS)[-1]!r} prompt saved to {path} "
        f"({len(last.trace)} steps); replay it with trviz.load_trace({str(path)!r})"
    )
    print(f"\n--- TR output ({list(DEMO_PROMPTS)[-1]}) ---\n{last.text}")
    mismatched = [name for name, r, g in rows if r.tokens != g.tokens]
    if mismatched and args.dtype in ("float32", "fp32"):
        print(f"ERROR: TR differs from greedy on {mismatched} in fp32", flush=True)
        return 1
    return 0


def describe_drafter(cfg, choice, model) -> str:
    """One line saying what a step verifies under ``cfg`` (and what prices the budget)."""
    from trviz.run import choose_cost

    where = f"k={cfg.k}, device {model.device}"
    if cfg.budget:
        cost = choose_cost(model)
        copies = f" + {cfg.copy_branches} x {cfg.copy} longest-match copies" if cfg.copy else ""
        return (
            f"per-step budget over the {choice.tree.name} candidate template{copies} "
            f"({choice.source}), priced by the {cost.source}; {where}"
        )
    branch = cfg.copy or cfg.lookup
    kind = "longest-match copy" if cfg.copy else "n-gram lookup"
    extra = f" (base {choice.base.name} + {branch}-node {kind} branch)" if branch else ""
    return (
        f"tree {choice.tree.name}{extra}, {choice.tree.size} tokens per forward, {where}; "
        f"tree from {choice.source}"
    )


def _print_table(rows) -> None:
    head = (
        "prompt",
        "new tok",
        "forwards",
        "tokens/forward",
        "MAT",
        "greedy tok/s",
        "TR tok/s",
        "speedup",
        "identical",
    )
    lines = [head]
    tot_g = tot_r = tot_new = tot_steps = tot_verified = 0.0
    for name, r, g in rows:
        lines.append(
            (
                name,
                r.stats.new_tokens,
                r.stats.steps,
                f"{r.stats.tokens_per_forward:.1f}",
                f"{r.stats.mat:.2f}",
                f"{g.stats.tokens_per_s:.1f}",
                f"{r.stats.tokens_per_s:.1f}",
                f"{r.stats.tokens_per_s / g.stats.tokens_per_s:.2f}x",
                "yes" if r.tokens == g.tokens else "NO",
            )
        )
        tot_g += g.stats.wall_s
        tot_r += r.stats.wall_s
        tot_new += r.stats.new_tokens
        tot_steps += r.stats.steps
        tot_verified += r.stats.verified
    lines.append(
        (
            "overall",
            int(tot_new),
            int(tot_steps),
            f"{tot_verified / tot_steps:.1f}",
            f"{tot_new / tot_steps:.2f}",
            f"{tot_new / tot_g:.1f}",
            f"{tot_new / tot_r:.1f}",
            f"{tot_g / tot_r:.2f}x",
            "yes" if all(r.tokens == g.tokens for _, r, g in rows) else "NO",
        )
    )
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(head))]
    for j, line in enumerate(lines):
        print(
            "  ".join(
                str(c).rjust(w) if i else str(c).ljust(w)
                for i, (c, w) in enumerate(zip(line, widths))
            )
        )
        if j == 0 or j == len(lines) - 2:
            print("  ".join("-" * w for w in widths))
