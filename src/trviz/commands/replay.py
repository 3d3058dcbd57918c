"""``trviz replay TRACE.json``: the run summary, one step's summary and tree, an offline HTML
replay page (staged: draft/verify/accept/update frames), a PNG of any registered view at any
stage, an animated PNG of one step's four stages. Needs no model."""

from __future__ import annotations

import argparse
from pathlib import Path

from trviz.animation import MAX_FRAMES
from trviz.commands.args import check_outputs, positive_int
from trviz.describe import STAGES
from trviz.errors import ConfigError, TraceError


def parse_steps(spec: str | None) -> slice | None:
    """``"10:50"`` / ``"0:400:4"`` / ``"12"`` -> a slice of step numbers (``None`` stays).
    Step numbers are >= 0 and the stride >= 1; anything else is an argparse error."""
    if not spec:
        return None
    try:
        parts = [int(p) if p else None for p in spec.split(":")]
    except ValueError:
        parts = []
    if not 1 <= len(parts) <= 3 or (len(parts) == 1 and parts[0] is None):
        raise argparse.ArgumentTypeError(
            f"expected START:STOP[:STRIDE] of step numbers or one step, got {spec!r}"
        )
    if any(p is not None and p < 0 for p in parts[:2]):
        raise argparse.ArgumentTypeError(f"step numbers are >= 0, got {spec!r}")
    if len(parts) == 3 and parts[2] is not None and parts[2] < 1:
        raise argparse.ArgumentTypeError(f"the stride must be a positive int, got {spec!r}")
    if len(parts) == 1:
        return slice(parts[0], parts[0] + 1)
    return slice(*parts)


def register(sub) -> None:
    from trviz.views import VIEWS

    p = sub.add_parser("replay", help="replay a saved trace: text summary, HTML page, PNG")
    p.add_argument("trace", type=Path, help="a trace saved by trace.save() (JSON)")
    p.add_argument("--html", type=Path, help="write a self-contained offline replay page")
    p.add_argument(
        "--steps",
        type=parse_steps,
        default=None,
        help="step numbers to animate, START:STOP[:STRIDE] (default: all, sampled "
        "down to --max-frames)",
    )
    p.add_argument(
        "--max-frames",
        type=positive_int,
        default=MAX_FRAMES,
        help="most frames when --steps is not given (a staged step has four)",
    )
    p.add_argument(
        "--no-stages",
        dest="stages",
        action="store_false",
        help="one frame per step instead of draft/verify/accept/update frames",
    )
    p.add_argument("--step", type=int, help="print this step's summary and pruned tree")
    p.add_argument("--png", type=Path, help="write a PNG of --view at --step (and --stage)")
    p.add_argument("--view", default="tree", choices=tuple(VIEWS))
    p.add_argument("--stage", choices=STAGES, help="the stage of --step drawn by --png")
    p.add_argument("--row", type=int, help="matrix row (token id) for --view row")
    p.add_argument("--apng", type=Path, help="write an animated PNG of --step's four stages")
    p.set_defaults(func=run)


def check(args: argparse.Namespace):
    """Every argument and the trace, before anything is drawn or written: ``(trace, step)``."""
    from trviz.animation import select_steps
    from trviz.trace import load_trace
    from trviz.views import VIEWS

    check_outputs(args, ("--html", "--png", "--apng"), inputs=("trace",))
    trace = load_trace(args.trace)
    if not trace.steps:
        if args.html or args.png or args.apng or args.step is not None:
            raise TraceError(f"{args.trace}: the trace has no steps to show")
        return trace, None
    try:
        step = trace.by_step(args.step).step if args.step is not None else trace.steps[0].step
        if args.html:
            select_steps(trace, args.steps, args.max_frames)
    except (IndexError, ValueError) as e:
        raise ConfigError(str(e)) from e
    if args.html and trace.level != "full":
        raise ConfigError(
            f"--html animates a trace recorded with generate(..., record='full'); {args.trace} "
            "is at level 'summary'"
        )
    if args.png and VIEWS[args.view].needs_full and trace.level != "full":
        light = ", ".join(name for name, view in VIEWS.items() if not view.needs_full)
        raise ConfigError(
            f"--view {args.view} needs a trace recorded at level 'full'; {args.trace} is at "
            f"level 'summary' ({light} need only a summary)"
        )
    if args.apng and trace.level != "full":
        raise ConfigError(f"--apng draws a step's stages: {args.trace} is at level 'summary'")
    return trace, step


def run(args: argparse.Namespace) -> int:
    from trviz.export import save_apng, save_png, to_html
    from trviz.text import run_text, step_text, tree_text
    from trviz.views import render

    trace, step = check(args)
    print(repr(trace))
    print(run_text(trace))
    if args.step is not None:
        print()
        print(step_text(trace, step))
        if trace.level == "full":
            print(tree_text(trace, step, prune=True))
    if args.html:
        out = to_html(
            trace, args.html, steps=args.steps, max_frames=args.max_frames, stages=args.stages
        )
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if args.png:
        fig = render(args.view, trace, step, args.stage, args.row)
        print(f"wrote {save_png(fig, args.png)}")
    if args.apng:
        print(f"wrote {save_apng(trace, step, args.apng)}")
    return 0
