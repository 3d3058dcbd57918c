"""Snapshot comparison for the text-twin and figure tests.

``matches(name, text)`` compares ``text`` with ``tests/snapshots/<name>``. A missing or different
snapshot fails the test; run with ``TRVIZ_UPDATE_SNAPSHOTS=1`` to (re)write them, then review the
diff in git before committing.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

HERE = Path(__file__).parent


def matches(name: str, text: str) -> None:
    path = HERE / name
    if os.environ.get("TRVIZ_UPDATE_SNAPSHOTS") == "1":
        path.write_text(text, encoding="utf-8")
    assert path.exists(), f"no snapshot {path}: run with TRVIZ_UPDATE_SNAPSHOTS=1 and review it"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its snapshot (TRVIZ_UPDATE_SNAPSHOTS=1 renews)"


def figure_json(fig) -> str:
    """A figure's JSON without the plotly template (which changes with plotly releases)."""
    d = fig.to_plotly_json()
    d["layout"].pop("template", None)
    return json.dumps(d, sort_keys=True, indent=1, ensure_ascii=False, default=_plain) + "\n"


def _plain(obj):
    if hasattr(obj, "tolist"):
        return obj.tolist()
    raise TypeError(type(obj).__name__)
