"""Export: the offline HTML page, PNG through kaleido, and ``trviz replay``."""

from __future__ import annotations

import re
import shutil
import struct
import zlib
from pathlib import Path

import pytest

import trviz
from trviz.commands import main
from trviz.commands.replay import parse_steps
from trviz.export import PNG_SIGNATURE, _chunk, apng

DATA = Path(__file__).parent / "data"
SMALL = DATA / "trace-small.json"


def test_html_is_self_contained_and_deterministic(tmp_path):
    trace = trviz.load_trace(SMALL)
    a = trviz.to_html(trace, tmp_path / "a.html").read_text(encoding="utf-8")
    b = trviz.to_html(trace, tmp_path / "b.html").read_text(encoding="utf-8")
    assert a == b  # content-derived element id, no uuid
    assert re.findall(r"<script[^>]*\bsrc=", a) == []  # plotly.js inlined, nothing fetched
    assert "require.js" not in a and "cdn.plot.ly/plotly" not in a and "MathJax.js" not in a
    ids = re.findall(r'id="(trviz-[0-9a-f]{16})"', a)
    assert len(ids) == len(set(ids)) == 4  # the replay, recycling shares, row story, acceptance
    assert a.count("* plotly.js v") == 1  # plotly.js inlined once
    for div_id in ids:
        assert f"Plotly.animate('{div_id}'" not in a and f'Plotly.animate("{div_id}"' not in a
    assert "run summary" in a and "MAT" in a
    assert "Trash into treasure" in a and "The story of one matrix row" in a
    assert '"name":"0\\u002fverify"' in a  # staged frames (plotly writes "/" as \u002f)
    assert (tmp_path / "a.html").stat().st_mode & 0o044  # readable by others, like any export


def test_a_page_of_several_figures_inlines_plotly_once(tmp_path):
    from trviz.export import save_figures
    from trviz.views import mat_figure, text_figure

    trace = trviz.load_trace(SMALL)
    page = save_figures([mat_figure(trace), text_figure(trace)], tmp_path / "p.html", "two views")
    html = page.read_text(encoding="utf-8")
    assert re.findall(r"<script[^>]*\bsrc=", html) == []  # nothing fetched
    assert html.count("* plotly.js v") == 1  # plotly.js inlined once
    assert len(re.findall(r'id="(trviz-[0-9a-f]{16})"', html)) == 2
    assert "<title>two views</title>" in html and "run summary" not in html


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
    assert '"name":"2\\u002fupdate"' in html
    flat = tmp_path / "flat.html"
    assert main(["replay", str(SMALL), "--html", str(flat), "--steps", "0:2", "--no-stages"]) == 0
    text = flat.read_text(encoding="utf-8")
    assert '"name":"1"' in text and '"name":"1\\u002fdraft"' not in text


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


def test_apng_is_an_animated_png_of_the_frames():
    # two 1x1 frames made by hand (RGB, no filter), then read back chunk by chunk
    def png(rgb: bytes) -> bytes:
        ihdr = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
        return (
            PNG_SIGNATURE
            + _chunk(b"IHDR", ihdr)
            + _chunk(b"IDAT", zlib.compress(b"\0" + rgb))
            + _chunk(b"IEND", b"")
        )

    data = apng([png(b"\xff\0\0"), png(b"\0\0\xff")], 1500)
    kinds, pos = [], 8
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos : pos + 4])
        kind, body = data[pos + 4 : pos + 8], data[pos + 8 : pos + 8 + length]
        assert struct.unpack(">I", data[pos + 8 + length : pos + 12 + length])[0] == zlib.crc32(
            kind + body
        )
        kinds.append(kind)
        if kind == b"acTL":
            assert struct.unpack(">II", body) == (2, 0)  # two frames, loop forever
        if kind == b"fcTL":
            assert struct.unpack(">HH", body[20:24]) == (1500, 1000)  # 1.5 s per frame
        pos += 12 + length
    assert kinds == [b"IHDR", b"acTL", b"fcTL", b"IDAT", b"fcTL", b"fdAT", b"IEND"]
    with pytest.raises(ValueError, match="same size"):
        apng(
            [
                png(b"\0\0\0"),
                png(b"\0\0\0").replace(
                    b"\x00\x00\x00\x01\x00\x00\x00\x01", b"\x00\x00\x00\x02\x00\x00\x00\x01"
                ),
            ],
            10,
        )


@pytest.mark.browser
def test_png_export(tmp_path):
    if not Path("/usr/bin/chromium").exists() and not shutil.which("chromium"):
        pytest.skip("no chromium: run scripts/setup-test.sh (kaleido renders with it)")
    pytest.importorskip("kaleido", reason="kaleido missing: run scripts/setup-test.sh")
    trace = trviz.load_trace(SMALL)
    path = trviz.save_png(trviz.tree_figure(trace, 2, height=620), tmp_path / "tree.png")
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(head[16:20], "big"), int.from_bytes(head[20:24], "big")
    assert (width, height) == (1000, 620)
    assert main(["replay", str(SMALL), "--step", "2", "--apng", str(tmp_path / "s.png")]) == 0
    data = (tmp_path / "s.png").read_bytes()
    assert data.count(b"fcTL") == 4 and b"acTL" in data  # the four stages
