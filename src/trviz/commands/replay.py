"""``trviz replay TRACE.json``: the run summary, one step's summary and tree, an offline HTML
replay page, a PNG of any view. Needs no model."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from trviz.animation import MAX_FRAMES


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
    p.add_argument("--max-frames", type=int, default=MAX_FRAMES)
    p.add_argument("--step", type=int, help="print this step's summary and pruned tree")
    p.add_argument("--png", type=Path, help="write a PNG of --view at --step")
    p.add_argument(
        "--view",
        default="tree",
        choices=("tree", "matrix", "mask", "text", "accepted", "mat", "speed"),
    )
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    try:
        return _replay(args)
    except (OSError, ValueError, IndexError) as e:  # TraceError is a ValueError
        print(f"trviz replay: error: {e}", file=sys.stderr)
        return 2


def _replay(args: argparse.Namespace) -> int:
    from trviz.export import save_png, to_html
    from trviz.text import run_text, step_text, tree_text
    from trviz.trace import load_trace

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
        out = to_html(trace, args.html, steps=args.steps, max_frames=args.max_frames)
        print(f"wrote {out} ({out.stat().st_size / 1e6:.1f} MB)")
    if args.png:
        from trviz.views import VIEWS

        view = VIEWS[args.view]
        fig = view(trace, step) if args.view in ("tree", "matrix", "mask") else view(trace)
        print(f"wrote {save_png(fig, args.png)}")
    return 0
