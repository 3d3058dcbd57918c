"""Share a trace: a self-contained offline HTML replay, PNG and animated PNG images.

``to_html`` writes one page with plotly.js inlined (no CDN, no require.js, no MathJax): it opens
from disk in any browser, with no kernel and no network. The page holds the staged replay
(``trviz.animate``), then recycling made visible: where the accepted drafts came from, the story
of the matrix row where recycled "trash" paid off most, and acceptance by tree position, each
with its text twin. Element ids are derived from the page content, so the same trace always gives
the same bytes. ``save_png`` renders any figure through kaleido and Debian's chromium (installed
by ``scripts/setup-test.sh``); ``save_apng`` makes one animated PNG of a step's four stages.
The ``trviz replay`` command (``trviz.commands.replay``) calls these.
"""

from __future__ import annotations

import hashlib
import html
import os
import struct
import zlib
from collections.abc import Iterable
from pathlib import Path

import plotly.graph_objects as go

from trviz.animation import MAX_FRAMES, animate, step_figure
from trviz.describe import STAGES
from trviz.plumbing import write_atomic
from trviz.text import model_name, run_text
from trviz.trace import Trace

_PLACEHOLDER = "trviz-div-placeholder"
PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<style>
body {{ font-family: "DejaVu Sans", Arial, sans-serif; margin: 16px 24px; color: #222; }}
pre {{ background: #f6f8fa; padding: 10px 14px; border-radius: 6px; font-size: 12px; }}
h3 {{ margin-top: 28px; }}
</style>
</head>
<body>
<h2>{title}</h2>
{plot}
{summary}
{sections}
</body>
</html>
"""
SUMMARY = "<details><summary>run summary</summary><pre>{text}</pre></details>"
SECTION = """<h3>{title}</h3>
{plot}
<details><summary>as text</summary><pre>{text}</pre></details>
"""


def figure_html(fig: go.Figure, include_plotlyjs: bool = True) -> str:
    """An HTML fragment (plotly.js inlined unless told otherwise), content-derived element id."""
    frag = fig.to_html(
        full_html=False,
        include_plotlyjs=include_plotlyjs,
        include_mathjax=False,
        auto_play=False,
        div_id=_PLACEHOLDER,
        config={"displaylogo": False, "responsive": False},
    )
    digest = hashlib.sha256(frag.encode()).hexdigest()[:16]
    return frag.replace(_PLACEHOLDER, f"trviz-{digest}")


def _sections(trace: Trace) -> str:
    """Recycling made visible, below the replay: shares, the row story, per-node acceptance."""
    from trviz.views import VIEWS

    parts = []
    for name, title in (
        ("recycling", "Trash into treasure: where the accepted drafts came from"),
        ("row", "The story of one matrix row"),
        ("acceptance", "Acceptance by tree position"),
    ):
        view = VIEWS[name]
        parts.append(
            SECTION.format(
                title=html.escape(title),
                plot=figure_html(view.figure(trace), include_plotlyjs=False),
                text=html.escape(view.twin(trace)),
            )
        )
    return "\n".join(parts)


def to_html(
    trace: Trace | go.Figure,
    path: str | os.PathLike,
    steps: slice | Iterable[int] | None = None,
    max_frames: int = MAX_FRAMES,
    title: str | None = None,
    stages: bool = True,
) -> Path:
    """Write one self-contained offline page replaying ``trace`` (``trviz.animate``, staged
    unless ``stages=False``) with the recycling views below it, or showing any figure; returns
    the path. The file is written atomically.

    steps, max_frames: which steps get frames (see :func:`trviz.animation.animate`).
    """
    if isinstance(trace, go.Figure):
        fig, summary, sections = trace, "", ""
        title = title or "trviz figure"
    else:
        fig = animate(trace, steps=steps, max_frames=max_frames, stages=stages)
        summary = run_text(trace)
        sections = _sections(trace)
        title = title or f"trviz replay · {model_name(trace)}"
    page = PAGE.format(
        title=html.escape(title),
        plot=figure_html(fig),
        summary=SUMMARY.format(text=html.escape(summary)) if summary else "",
        sections=sections,
    )
    return write_atomic(path, page)


def save_figures(figures: Iterable[go.Figure], path: str | os.PathLike, title: str) -> Path:
    """Write one self-contained offline page showing ``figures`` one below the other (plotly.js
    inlined once; no CDN); returns the path. The file is written atomically."""
    plots = [figure_html(fig, include_plotlyjs=(i == 0)) for i, fig in enumerate(figures)]
    page = PAGE.format(title=html.escape(title), plot="\n".join(plots), summary="", sections="")
    return write_atomic(path, page)


def save_png(fig: go.Figure, path: str | os.PathLike, scale: float = 1.0) -> Path:
    """Render ``fig`` (any view; an animation's first frame) to a PNG with kaleido, written
    atomically like every trviz file."""
    return write_atomic(path, fig.to_image(format="png", scale=scale))


def apng(frames: list[bytes], delay_ms: int | list[int]) -> bytes:
    """An animated PNG (looping forever) from same-sized PNG images, each shown ``delay_ms``.

    APNG (PNG + ``acTL``/``fcTL``/``fdAT`` chunks, https://wiki.mozilla.org/APNG_Specification)
    shows as a still of its first frame where animation is not supported.
    """
    delays = delay_ms if isinstance(delay_ms, list) else [delay_ms] * len(frames)
    parsed = [_chunks(f) for f in frames]
    head = parsed[0][0][1]
    if any(p[0][1] != head for p in parsed):
        raise ValueError("apng: every frame must have the same size and colour type")
    out = [
        PNG_SIGNATURE,
        _chunk(b"IHDR", head),
        _chunk(b"acTL", struct.pack(">II", len(frames), 0)),
    ]
    seq = 0
    for i, (chunks, delay) in enumerate(zip(parsed, delays)):
        width, height = struct.unpack(">II", head[:8])
        control = struct.pack(">IIIIIHHBB", seq, width, height, 0, 0, delay, 1000, 0, 0)
        out.append(_chunk(b"fcTL", control))
        seq += 1
        for kind, data in chunks:
            if kind != b"IDAT":
                continue
            if i == 0:
                out.append(_chunk(b"IDAT", data))
            else:
                out.append(_chunk(b"fdAT", struct.pack(">I", seq) + data))
                seq += 1
    out.append(_chunk(b"IEND", b""))
    return b"".join(out)


PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _chunks(png: bytes) -> list[tuple[bytes, bytes]]:
    if not png.startswith(PNG_SIGNATURE):
        raise ValueError("apng: a frame is not a PNG image")
    chunks, pos = [], len(PNG_SIGNATURE)
    while pos < len(png):
        (length,) = struct.unpack(">I", png[pos : pos + 4])
        chunks.append((png[pos + 4 : pos + 8], png[pos + 8 : pos + 8 + length]))
        pos += 12 + length
    return chunks


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(kind + data) & 0xFFFFFFFF
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


def save_apng(
    trace: Trace, step: int, path: str | os.PathLike, delay_ms: int = 3000, **size: int
) -> Path:
    """An animated PNG of step ``step``'s four stages (``trviz.animation.step_figure``), each
    shown ``delay_ms``: a picture of one step that plays on GitHub and in any browser."""
    frames = [step_figure(trace, step, stage, **size).to_image(format="png") for stage in STAGES]
    return write_atomic(path, apng(frames, delay_ms))
