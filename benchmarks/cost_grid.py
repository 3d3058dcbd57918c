"""Forward cost by tokens per forward q AND context length L: the built-in cost tables.

    python benchmarks/cost_grid.py [--dtypes float32 bfloat16] [--repeats 5]

For each dtype: median seconds of one tree forward (the decoder's own, 4-D mask) over q new
tokens after L cached tokens (:func:`trviz.bench.sweep.forward_cost_grid`), printed as a table of
ratios to q=1 at each L, then as the Python literal `trviz.cost.BUILTIN` holds.
"""

from __future__ import annotations

import argparse
import os

import torch

import trviz
from trviz.bench.sweep import GRID_LENS, GRID_Q, forward_cost_grid


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--dtypes", nargs="+", default=["float32", "bfloat16"])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--qs", type=int, nargs="+", default=list(GRID_Q))
    ap.add_argument("--lens", type=int, nargs="+", default=list(GRID_LENS))
    args = ap.parse_args()
    print(
        f"torch {torch.__version__}, threads {torch.get_num_threads()}, "
        f"load average {os.getloadavg()[0]:.2f}"
    )
    for dtype in args.dtypes:
        model, _ = trviz.load_model(dtype=dtype, device="cpu")
        cm, quiet = forward_cost_grid(model, args.qs, args.lens, args.repeats)
        print(f"\n== {dtype}: forward seconds, ratio to q=1 at the same L ==")
        print("L \\ q  " + " ".join(f"{q:>6}" for q in cm.qs))
        for n, row in zip(cm.lens, cm.seconds):
            print(
                f"{n:>6} "
                + " ".join(f"{s / row[0]:6.2f}" for s in row)
                + f"   (q=1: {row[0] * 1e3:.1f} ms)"
            )
        print("seconds = (")
        for row in cm.seconds:
            print("    (" + ", ".join(f"{s:.4f}" for s in row) + "),")
        print(")")
        print(
            f"contention: other processes kept {quiet['others_cores_mean']:.2f} cores busy on "
            f"average (max {quiet['others_cores_max']:.2f}) over {quiet['samples']} samples; "
            f"{quiet['retaken']} retaken; load average {os.getloadavg()[0]:.2f}"
        )


if __name__ == "__main__":
    main()
