"""Share a trace: a self-contained offline HTML replay and PNG images.

``to_html`` writes one page with plotly.js inlined (no CDN, no require.js, no MathJax): it opens
from disk in any browser, with no kernel and no network. The plot's element id is derived from the
page content, so the same trace always gives the same bytes. ``save_png`` renders any figure
through kaleido and Debian's chromium (installed by ``scripts/setup-test.sh``).
"""

from __future__ import annotations

import hashlib
import html
import os
from collections.abc import Iterable
from pathlib import Path

import plotly.graph_objects as go

from trviz.animation import MAX_FRAMES, animate
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
</style>
</head>
<body>
<h2>{title}</h2>
{plot}
<details><summary>run summary</summary><pre>{summary}</pre></details>
</body>
</html>
"""


def figure_html(fig: go.Figure) -> str:
    """An HTML fragment with plotly.js inlined and a content-derived element id."""
    frag = fig.to_html(
        full_html=False,
        include_plotlyjs=True,
        include_mathjax=False,
        auto_play=False,
        div_id=_PLACEHOLDER,
        config={"displaylogo": False, "responsive": False},
    )
    digest = hashlib.sha256(frag.encode()).hexdigest()[:16]
    return frag.replace(_PLACEHOLDER, f"trviz-{digest}")


def to_html(
    trace: Trace | go.Figure,
    path: str | os.PathLike,
    steps: slice | Iterable[int] | None = None,
    max_frames: int = MAX_FRAMES,
    title: str | None = None,
) -> Path:
    """Write one self-contained offline page replaying ``trace`` (``trviz.animate``) or showing
    any figure; returns the path. The file is written atomically.

    steps, max_frames: which steps get a frame (see :func:`trviz.animation.select_steps`).
    """
    if isinstance(trace, go.Figure):
        fig, summary = trace, ""
        title = title or "trviz figure"
    else:
        fig = animate(trace, steps=steps, max_frames=max_frames)
        summary = run_text(trace)
        title = title or f"trviz replay · {model_name(trace)}"
    page = PAGE.format(
        title=html.escape(title), plot=figure_html(fig), summary=html.escape(summary)
    )
    return write_atomic(path, page)


def save_png(fig: go.Figure, path: str | os.PathLike, scale: float = 1.0) -> Path:
    """Render ``fig`` (any view; an animation's first frame) to a PNG with kaleido."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.write_image(str(path), format="png", scale=scale)
    return path
