"""``trviz replay TRACE.json``: the run summary, one step's summary and tree, an offline HTML
replay page (staged: draft/verify/accept/update frames), a PNG of any registered view at any
stage, an animated PNG of one step's four stages. Needs no model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trviz.animation import MAX_FRAMES
from trviz.describe import STAGES


def parse_steps(spec: str | None) -> slice | None:
    """``"10:50"`` / ``"0:400:4"`` / ``"12"`` -> a slice of step numbers (``None`` stays)."""
    if not spec:
        return None
    parts = [int(p) if p else None for p in spec.split(":")]
    if len(parts) == 1:
        return slice(parts[0], parts[0] + 1)
    if len(parts) > 3:
        raise argparse.ArgumentTypeError(f"--steps: expected START:STOP[:STRIDE], got {spec!r}")
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
        type=int,
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


def run(args: argparse.Namespace) -> int:
    try:
        return _replay(args)
    except (OSError, ValueError, IndexError) as e:  # TraceError is a ValueError
        print(f"trviz replay: error: {e}", file=sys.stderr)
        return 2


def _replay(args: argparse.Namespace) -> int:
    from trviz.export import save_apng, save_png, to_html
    from trviz.text import run_text, step_text, tree_text
    from trviz.trace import load_trace
    from trviz.views import render

    trace = load_trace(args.trace)
    print(repr(trace))
    print(run_text(trace))
    step = args.step if args.step is not None else trace.steps[0].step
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
