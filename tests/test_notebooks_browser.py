"""A real browser runs a course-style notebook in live JupyterLab: animate + Player, press Play.

JupyterLab is started on 127.0.0.1 (no token, temporary root, no outbound checks) and driven by
Debian's /usr/bin/chromium through playwright's Python driver (both installed by
scripts/setup-test.sh). The notebook is the replay section of notebook 05 on a trace recorded
from a tiny random-init model (so no SmolLM2 load): ``tr_notebooks.setup()``, ``trviz.animate``,
``trviz.Player``. The test runs all cells, waits for the plotly figure and the player, presses
Play and checks that the step shown by the kernel-backed player changes in the page. A
screenshot is saved to artifacts/notebook-player.png.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from tiny_models import TinyTokenizer, make_tiny

import trviz

pytestmark = [pytest.mark.browser, pytest.mark.notebook]

ARTIFACTS = Path(__file__).parent.parent / "artifacts"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip
CELLS = [
    "import tr_notebooks\n\ncourse = tr_notebooks.setup(renderer='plotly_mimetype')\ncourse",
    "import trviz\n\ntrace = trviz.load_trace('trace.json')\nlen(trace)",
    "fig = trviz.animate(trace)\nfig",
    "player = trviz.Player(trace)\nplayer",
]


def _notebook(folder: Path) -> Path:
    model, tok = make_tiny("llama"), TinyTokenizer()
    r = trviz.generate(
        model, tok, [5, 17, 33, 5, 17, 60, 7], 24, config={"tree": "tr-8"}, record="full"
    )
    r.trace.save(folder / "trace.json")
    cells = [
        {
            "cell_type": "code",
            "execution_count": None,
            "id": f"c{i}",
            "metadata": {},
            "outputs": [],
            "source": src,
        }
        for i, src in enumerate(CELLS)
    ]
    nb = {
        "cells": cells,
        "nbformat": 4,
        "nbformat_minor": 5,
        "metadata": {
            "kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}
        },
    }
    path = folder / "replay.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    return path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _start_lab(root: Path, port: int) -> subprocess.Popen:
    bindir = str(Path(sys.executable).parent)
    env = {
        **os.environ,
        "PATH": bindir + os.pathsep + os.environ.get("PATH", ""),
        "CI": "true",
        "HF_HUB_OFFLINE": "1",
        "JUPYTER_RUNTIME_DIR": str(root / ".runtime"),
        "JUPYTERLAB_WORKSPACES_DIR": str(root / ".workspaces"),
    }
    cmd = [
        sys.executable,
        "-m",
        "jupyterlab",
        "--no-browser",
        "--allow-root",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.token=",
        "--ServerApp.password=",
        f"--ServerApp.root_dir={root}",
        "--LabApp.expose_app_in_browser=True",
        "--LabApp.news_url=None",
        "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    log = open(root / "lab.log", "w")  # noqa: SIM115 - closed with the process
    return subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)


def _wait_http(url: str, timeout: float, proc: subprocess.Popen, log: Path) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if proc.poll() is not None:
            raise AssertionError(f"jupyter lab exited early:\n{log.read_text()[-3000:]}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"jupyter lab did not answer at {url}:\n{log.read_text()[-3000:]}")


def _player_step(page) -> int:
    """The step the kernel-backed player shows: the first line of its step summary."""
    text = page.inner_text(".widget-html-content pre")
    match = re.match(r"step (\d+)", text)
    assert match, text
    return int(match.group(1))


def test_live_lab_runs_animate_and_player_and_play_advances(tmp_path):
    if not Path(CHROMIUM).exists():
        pytest.skip(f"no chromium at {CHROMIUM}: run scripts/setup-test.sh (apt-get chromium)")
    sync_api = pytest.importorskip(
        "playwright.sync_api", reason="playwright missing: run scripts/setup-test.sh"
    )
    nb = _notebook(tmp_path)
    port = _free_port()
    lab = _start_lab(tmp_path, port)
    try:
        _wait_http(f"http://127.0.0.1:{port}/api/status", 90, lab, tmp_path / "lab.log")
        with sync_api.sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=LAUNCH_ARGS)
            page = browser.new_page(viewport={"width": 1600, "height": 1300})
            errors: list[str] = []
            page.on("pageerror", lambda e: errors.append(str(e)))
            try:
                _run_and_play(page, port, nb.name)
            except Exception:
                ARTIFACTS.mkdir(exist_ok=True)
                page.screenshot(path=str(ARTIFACTS / "notebook-player-failure.png"), full_page=True)
                raise
            browser.close()
        assert not errors, errors
    finally:
        lab.terminate()
        try:
            lab.wait(timeout=20)
        except subprocess.TimeoutExpired:
            lab.kill()


def _run_and_play(page, port: int, name: str) -> None:
    """Open the notebook, run all cells, press the player's Play; screenshot on success."""
    page.goto(f"http://127.0.0.1:{port}/lab/tree/{name}?reset", timeout=90_000)
    page.wait_for_function(
        "() => { const w = window.jupyterapp && window.jupyterapp.shell.currentWidget;"
        " const k = w && w.sessionContext && w.sessionContext.session"
        " && w.sessionContext.session.kernel; return k && k.status === 'idle'; }",
        timeout=120_000,
    )
    page.evaluate("window.jupyterapp.commands.execute('notebook:run-all-cells')")
    page.wait_for_selector(".js-plotly-plot .main-svg", timeout=180_000)
    page.wait_for_selector(".widget-play button", timeout=180_000)
    page.wait_for_selector(".widget-html-content pre", timeout=120_000)
    # the animate figure rendered its Play/Pause menu and step slider
    assert page.locator(".updatemenu-button").count() >= 2
    assert page.locator(".slider-container").count() >= 1
    first = _player_step(page)
    readout = page.inner_text(".widget-slider .widget-readout")
    page.locator(".widget-play button").first.click()
    page.wait_for_function(
        f"() => {{ const p = document.querySelector('.widget-html-content pre');"
        f" const m = p && p.innerText.match(/^step (\\d+)/);"
        f" return m && Number(m[1]) > {first}; }}",
        timeout=60_000,
    )
    assert _player_step(page) > first
    assert page.inner_text(".widget-slider .widget-readout") != readout
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "notebook-player.png"), full_page=True)
