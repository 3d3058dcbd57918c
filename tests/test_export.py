"""Export: the offline HTML page, PNG through kaleido, and ``trviz replay``."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

import trviz
from trviz.commands import main
from trviz.commands.replay import parse_steps

DATA = Path(__file__).parent / "data"
SMALL = DATA / "trace-small.json"


def test_html_is_self_contained_and_deterministic(tmp_path):
    trace = trviz.load_trace(SMALL)
    a = trviz.to_html(trace, tmp_path / "a.html").read_text(encoding="utf-8")
    b = trviz.to_html(trace, tmp_path / "b.html").read_text(encoding="utf-8")
    assert a == b  # content-derived element id, no uuid
    assert re.findall(r"<script[^>]*\bsrc=", a) == []  # plotly.js inlined, nothing fetched
    assert "require.js" not in a and "cdn.plot.ly/plotly" not in a and "MathJax.js" not in a
    (div_id,) = set(re.findall(r'id="(trviz-[0-9a-f]{16})"', a))
    assert f"Plotly.animate('{div_id}'" not in a and f'Plotly.animate("{div_id}"' not in a
    assert "run summary" in a and "MAT" in a
    assert (tmp_path / "a.html").stat().st_mode & 0o044  # readable by others, like any export


def test_html_of_any_view(tmp_path):
    fig = trviz.mat_figure(trviz.load_trace(SMALL))
    text = trviz.to_html(fig, tmp_path / "mat.html", title="MAT").read_text(encoding="utf-8")
    assert "<title>MAT</title>" in text and "MAT over time" in text


def test_parse_steps():
    assert parse_steps("10:50") == slice(10, 50)
    assert parse_steps("0:400:4") == slice(0, 400, 4)
    assert parse_steps(":20") == slice(None, 20)
    assert parse_steps("7") == slice(7, 8)
    assert parse_steps(None) is None


def test_replay_cli_writes_page_and_prints_summary(tmp_path, capsys):
    out = tmp_path / "replay.html"
    assert main(["replay", str(SMALL), "--html", str(out), "--steps", "0:6:2", "--step", "3"]) == 0
    printed = capsys.readouterr().out
    assert "MAT" in printed and "step 3" in printed and "(root, step 3)" in printed
    html = out.read_text(encoding="utf-8")
    assert "3 of " in html  # the title says only 3 of the steps have frames


def test_replay_cli_reports_bad_input_clearly(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{")
    assert main(["replay", str(bad)]) == 2
    assert "trviz replay: error:" in capsys.readouterr().err
    assert main(["replay", str(SMALL), "--step", "9999"]) == 2
    assert "step 9999 is not in this trace" in capsys.readouterr().err
    summary = trviz.load_trace(SMALL)
    summary = trviz.Trace(summary.meta, [trviz.StepRecord(0, 1, 2, (), 3, (3,), {})])
    path = summary.save(tmp_path / "summary.json")
    assert main(["replay", str(path), "--html", str(tmp_path / "x.html")]) == 2
    assert "record='full'" in capsys.readouterr().err


@pytest.mark.browser
def test_png_export(tmp_path):
    if not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"):
        pytest.skip("no chromium: run scripts/setup-test.sh (kaleido renders with it)")
    pytest.importorskip("kaleido", reason="kaleido missing: run scripts/setup-test.sh")
    trace = trviz.load_trace(SMALL)
    path = trviz.save_png(trviz.tree_figure(trace, 2), tmp_path / "tree.png")
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) == (760, 620)
