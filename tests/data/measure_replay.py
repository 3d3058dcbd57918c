"""Measure how big and how fast the replay is for windows of N steps (docs/views.md quotes it).

    flock -x /tmp/trviz-cpu.lock .venv/bin/python tests/data/measure_replay.py TRACE 50 200

For each N, staged (four frames per step) and not (``stages=False``): seconds to build
``trviz.animate`` for the first N steps, the size of the page of that figure alone
(``trviz.to_html(fig)``, plotly.js included), and in Debian's chromium (playwright, offline):
seconds from opening the page until the plot is drawn, and the mean seconds per slider jump to a
frame of another step (a redraw of every panel). The trace must be a full-level one with at least
max(N) steps (make one with measure_memory.py).
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

from playwright.sync_api import sync_playwright

import trviz
from trviz.animation import SHARED

ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
JUMP = (
    "async (name) => { const gd = document.querySelector('.plotly-graph-div');"
    " const t0 = performance.now();"
    " await Plotly.animate(gd, [name], {frame: {duration: 0, redraw: true}, mode: 'immediate'});"
    " return performance.now() - t0; }"
)


def measure(trace: trviz.Trace, n: int, stages: bool, browser, out: Path) -> str:
    t0 = time.perf_counter()
    fig = trviz.animate(trace, steps=slice(0, n), max_frames=n, stages=stages)
    build = time.perf_counter() - t0
    page_path = trviz.to_html(fig, out / f"replay-{n}-{stages}.html")
    size = page_path.stat().st_size
    page = browser.new_page(viewport={"width": 1560, "height": 1120})
    t0 = time.perf_counter()
    page.goto(page_path.as_uri())
    page.wait_for_selector(".plotly-graph-div .main-svg .heatmaplayer image", timeout=300_000)
    load = time.perf_counter() - t0
    names = [f.name for f in fig.frames if f.name != SHARED]
    picks = [names[len(names) * i // 10] for i in range(1, 10)]
    jumps = [page.evaluate(JUMP, name) / 1e3 for name in picks]
    page.close()
    return (
        f"{n:5d} steps {'staged' if stages else 'flat  '} | {len(names):4d} frames | "
        f"build {build:5.1f} s | HTML {size / 1e6:6.1f} MB | open {load:5.1f} s | "
        f"slider jump {sum(jumps) / len(jumps):.2f} s"
    )


def main() -> None:
    trace = trviz.load_trace(sys.argv[1])
    sizes = [int(a) for a in sys.argv[2:]] or [50, 200]
    print(f"{trace!r}, tree {trace.meta.get('tree', {}).get('name')}")
    with tempfile.TemporaryDirectory() as d, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path="/usr/bin/chromium", args=ARGS)
        for n in sizes:
            for stages in (True, False):
                print(measure(trace[:n], n, stages, browser, Path(d)), flush=True)
        browser.close()


if __name__ == "__main__":
    main()
