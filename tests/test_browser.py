"""A real browser opens the exported replay page: panels render, Play advances the slider.

Drives Debian's /usr/bin/chromium through playwright's Python driver (no browser download; both
installed by scripts/setup-test.sh). The page is opened from disk (file://) with the network off,
which also proves it needs no CDN. A screenshot lands in artifacts/replay.png for humans.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import trviz

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip


def _browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}: run scripts/setup-test.sh (apt-get chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright missing: run scripts/setup-test.sh"
    )
    return sync_api.sync_playwright()


def _slider_step(page) -> int:
    """The step number the slider shows (its active step's label, read from plotly's state)."""
    return int(
        page.evaluate(
            "() => { const gd = document.querySelector('.plotly-graph-div');"
            " const s = gd._fullLayout.sliders[0]; return s.steps[s.active].label; }"
        )
    )


def test_replay_page_renders_and_plays(tmp_path):
    trace = trviz.load_trace(DATA / "trace-small.json")
    page_path = trviz.to_html(trace, tmp_path / "replay.html")
    first, last = trace.steps[0].step, trace.steps[-1].step
    with _browser() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
        context = browser.new_context(viewport={"width": 1560, "height": 1120}, offline=True)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.goto(page_path.as_uri())
        page.wait_for_selector(".plotly-graph-div .main-svg", timeout=30_000)

        # tree panel: the nodes scatter has one point per tree node (+ the bonus diamond)
        n_nodes = len(trace.steps[0].tokens)
        points = page.locator(".scatterlayer .trace .points path.point")
        assert points.count() >= n_nodes + 1
        # matrix and mask panels: two heatmaps drawn as images
        assert page.locator(".heatmaplayer image").count() == 2
        assert _slider_step(page) == first
        assert f"step {first}" in page.locator(".slider-container").first.text_content()

        # Play: the slider must walk forward through successive steps
        page.locator(".updatemenu-button").first.click()
        seen = [first]
        deadline = time.monotonic() + 60
        while len(seen) < 4 and time.monotonic() < deadline:
            value = _slider_step(page)
            if value != seen[-1]:
                seen.append(value)
            page.wait_for_timeout(100)
        page.locator(".updatemenu-button").nth(1).click()  # Pause
        page.wait_for_timeout(300)
        paused_at = _slider_step(page)
        page.wait_for_timeout(2 * 900)  # two frame durations
        still = _slider_step(page)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "replay.png"), full_page=True)
        browser.close()

    # Pausing mid-animation makes plotly.js reject the running animate() promise with no
    # value, which the page reports as the error "undefined"; anything else is a real error.
    assert [e for e in errors if e != "undefined"] == []
    assert still == paused_at, "Pause did not stop the replay"
    assert len(seen) >= 4, f"slider did not advance under Play: saw {seen}"
    assert seen == sorted(seen) and seen[-1] <= last
