"""A real browser opens the exported replay pages: panels render, Play walks the stages, any
frame can be jumped to, and the paper's 80-node tree has no overlapping labels.

Drives Debian's /usr/bin/chromium through playwright's Python driver (no browser download; both
installed by scripts/setup-test.sh). Pages are opened from disk (file://) with the network off,
which also proves they need no CDN. The viewport is JupyterLab's content width. Screenshots of
every stage of one step land in artifacts/ for humans to look at.
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import pytest

import trviz
from trviz.describe import STAGES
from trviz.text import stage_text

pytestmark = pytest.mark.browser

DATA = Path(__file__).parent / "data"
ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
VIEWPORT = {"width": 1140, "height": 1300}  # JupyterLab's content is about 1100 px wide
FRAME = "() => { const gd = document.querySelector('.plotly-graph-div');"
JUMP = (
    "async (name) => { const gd = document.querySelector('.plotly-graph-div');"
    " await Plotly.animate(gd, [name], {frame: {duration: 0, redraw: true},"
    " transition: {duration: 0}, mode: 'immediate'}); }"
)
# text boxes of one subplot (plotly draws subplot "x2y2" as g.subplot.x2y2)
BOXES = (
    "(sel) => Array.from(document.querySelector('.plotly-graph-div').querySelectorAll(sel))"
    ".filter(t => t.textContent.trim() && t.getAttribute('opacity') !== '0')"
    ".map(t => { const r = t.getBoundingClientRect();"
    " return [t.textContent, r.left, r.top, r.right, r.bottom]; })"
    ".filter(b => b[3] > b[1] && b[4] > b[2])"
)
TREE_TEXT = ".cartesianlayer .subplot.xy .scatterlayer .textpoint text"


def _browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}: run scripts/setup-test.sh (apt-get chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright missing: run scripts/setup-test.sh"
    )
    return sync_api.sync_playwright()


def _open(pw, path: Path):
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
    page = browser.new_context(viewport=VIEWPORT, offline=True).new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.goto(path.as_uri())
    page.wait_for_selector(".plotly-graph-div .main-svg", timeout=60_000)
    return browser, page, errors


def _slider_label(page) -> str:
    """The frame the slider shows (its active step's label, read from plotly's state)."""
    return page.evaluate(
        FRAME + " const s = gd._fullLayout.sliders[0]; return s.steps[s.active].label; }"
    )


def _caption(page) -> str:
    """The stage caption drawn on the figure (the annotation starting with 'step N ·')."""
    texts = page.evaluate(FRAME + " return gd._fullLayout.annotations.map(a => a.text); }")
    return next(t for t in texts if t.startswith("step ")).replace("<br>", " ")


def _overlaps(boxes: list, slack: float = 0.5) -> list[tuple[str, str]]:
    hits = []
    for i, (a, ax0, ay0, ax1, ay1) in enumerate(boxes):
        for b, bx0, by0, bx1, by1 in boxes[i + 1 :]:
            if min(ax1, bx1) - max(ax0, bx0) > slack and min(ay1, by1) - max(ay0, by0) > slack:
                hits.append((a, b))
    return hits


def test_replay_page_plays_the_stages_and_jumps_anywhere(tmp_path):
    trace = trviz.load_trace(DATA / "trace-small.json")
    page_path = trviz.to_html(trace, tmp_path / "replay.html")
    with _browser() as pw:
        browser, page, errors = _open(pw, page_path)
        # tree, matrix and mask panels: the node scatter, two heatmaps drawn as images
        replay = page.locator(".plotly-graph-div").first
        assert replay.locator(".scatterlayer .trace .points path.point").count() >= 9
        assert replay.locator(".heatmaplayer image").count() == 2
        assert page.locator(".plotly-graph-div").count() == 4  # + recycling, row story, acceptance
        assert _slider_label(page) == "0/draft"
        assert _caption(page) == stage_text(trace, 0, "draft")

        # Play walks draft -> verify -> accept -> update -> next step
        page.locator(".updatemenu-button").first.click()
        seen = [_slider_label(page)]
        deadline = time.monotonic() + 60
        while len(seen) < 5 and time.monotonic() < deadline:
            if _slider_label(page) != seen[-1]:
                seen.append(_slider_label(page))
            page.wait_for_timeout(100)
        page.locator(".updatemenu-button").nth(1).click()  # Pause
        page.wait_for_timeout(300)
        paused_at = _slider_label(page)
        page.wait_for_timeout(2 * 1100)
        still = _slider_label(page)

        # any frame shown alone is complete: jump far away, then back into the middle of a step
        for name in ("20/update", "3/verify", "12/accept"):
            page.evaluate(JUMP, name)
            step, stage = name.split("/")
            assert _caption(page) == stage_text(trace, int(step), stage)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "replay.png"), full_page=True)
        browser.close()

    # Pausing mid-animation makes plotly.js reject the running animate() promise with no
    # value, which the page reports as the error "undefined"; anything else is a real error.
    assert [e for e in errors if e != "undefined"] == []
    assert seen[:5] == ["0/draft", "0/verify", "0/accept", "0/update", "1/draft"], seen
    assert still == paused_at, "Pause did not stop the replay"


@pytest.mark.parametrize("name, step", [("paper", 11), ("small", 24), ("budget", 14)])
def test_labels_never_overlap_and_every_stage_is_captioned(tmp_path, name, step):
    """No two rendered text boxes intersect: the tree's labels at every step (draft, with the
    copy notes, verify, where labels are longest, and accept, with the bonus; pruned candidates
    at all three), the matrix and mask axis labels. Every
    stage of step ``step`` is checked too and saved as artifacts/stage-NAME-STAGE.png."""
    trace = trviz.load_trace(DATA / f"trace-{name}.json")
    page_path = trviz.to_html(trace, tmp_path / f"{name}.html")
    problems = []
    with _browser() as pw:
        browser, page, errors = _open(pw, page_path)
        for rec in trace:
            for stage in STAGES if rec.step == step else ("draft", "verify", "accept"):
                page.evaluate(JUMP, f"{rec.step}/{stage}")
                assert _caption(page) == stage_text(trace, rec.step, stage)
                tree = page.evaluate(BOXES, TREE_TEXT)
                least = 2 if len(rec.tokens) > 1 else 1  # a step may verify its root alone
                assert len(tree) >= least, f"no tree labels drawn at {rec.step}/{stage}"
                problems += [(rec.step, stage, pair) for pair in _overlaps(tree)]
                if stage == "verify":
                    for axis in (".subplot.x2y2 .ytick text", ".subplot.x3y3 .ytick text"):
                        boxes = page.evaluate(BOXES, axis)
                        problems += [(rec.step, axis, pair) for pair in _overlaps(boxes)]
                if rec.step == step:
                    page.wait_for_timeout(1000)  # text is drawn a moment after the frame
                    ARTIFACTS.mkdir(exist_ok=True)
                    shot = ARTIFACTS / f"stage-{name}-{stage}.png"
                    page.locator(".plotly-graph-div").first.screenshot(path=str(shot))
        browser.close()
    assert [e for e in errors if e != "undefined"] == []
    assert problems == [], f"{len(problems)} overlapping labels, e.g. {problems[:5]}"
