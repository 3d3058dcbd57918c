"""Course helpers for the trviz notebooks: one setup call, exercise checkers, a copy command.

Every notebook starts with::

    import tr_notebooks
    course = tr_notebooks.setup()

which seeds the random generators, keeps Hugging Face offline, picks a plotly renderer (interactive
in JupyterLab, plus a PNG fallback where JavaScript does not run, e.g. on GitHub) and reports
whether *smoke mode* is on. Smoke mode (``CI`` set to a true value, or ``TR_NOTEBOOKS_SMOKE=1``)
shrinks the measurement runs (fewer prompts, fewer tokens) so the whole course runs in CI in
minutes; the outputs that nbval checks never depend on it.

Exercises: ``tr_notebooks.check_<name>(your_function)`` runs your function on the shared
hand-drawn cases, compares it with trviz's reference implementation and returns a
:class:`~tr_notebooks.checkers.Verdict` that shows the first mismatch in words, names the common
mistake it looks like, and gives a hint. It never raises, so a notebook with an unfinished
exercise still runs top to bottom. The exercises are one table, ``tr_notebooks.EXERCISES``; every
``check_<name>`` comes from it. ``tr_notebooks.compare(...)`` puts a prediction next to your own
measurement.

Copy the notebooks somewhere writable: ``python -m tr_notebooks DEST`` (or ``tr-notebooks DEST``).
"""

from __future__ import annotations

import os
import random
import shutil
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from tr_notebooks.checkers import CHECKERS, EXERCISES, Verdict, check
from tr_notebooks.predictions import compare

_TRUE = {"1", "true", "yes", "on"}
SMOKE: bool = (
    os.environ.get("CI", "").strip().lower() in _TRUE
    or os.environ.get("TR_NOTEBOOKS_SMOKE", "").strip().lower() in _TRUE
)

# Plotly renderers: "plotly_mimetype" is what JupyterLab draws interactively; "+png" adds a static
# image to the same output (shown by viewers that run no JavaScript). PNGs need kaleido and a
# Chromium, and cost seconds each, so smoke mode and machines without them skip the fallback.
INTERACTIVE = "plotly_mimetype"
WITH_PNG = "plotly_mimetype+png"


@dataclass(frozen=True)
class Course:
    """What :func:`setup` decided; ``size(full, smoke)`` picks a run size for the current mode."""

    smoke: bool
    seed: int
    renderer: str

    def size(self, full: int, smoke: int) -> int:
        """``smoke`` in smoke mode (CI), else ``full``: prompts, tokens, repetitions."""
        return smoke if self.smoke else full

    def __repr__(self) -> str:
        mode = "on (fewer prompts and tokens)" if self.smoke else "off"
        return f"course setup: seed {self.seed}, smoke mode {mode}, renderer {self.renderer!r}"


def setup(seed: int = 0, renderer: str | None = None) -> Course:
    """Prepare a notebook: seeds, offline Hub, plotly renderer. Returns a :class:`Course`.

    renderer: a plotly renderer name; ``None`` picks ``"plotly_mimetype+png"`` when PNG export
    works here and smoke mode is off, else ``"plotly_mimetype"``.
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    random.seed(seed)
    _seed_torch(seed)
    chosen = renderer or (WITH_PNG if not SMOKE and png_export_available() else INTERACTIVE)
    import plotly.io as pio

    pio.renderers.default = chosen
    return Course(SMOKE, seed, chosen)


def png_export_available() -> bool:
    """True when plotly can write PNGs here (kaleido installed and a Chromium on the machine)."""
    from importlib.util import find_spec

    if find_spec("kaleido") is None:
        return False
    return any(shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome"))


def _seed_torch(seed: int) -> None:
    from importlib.util import find_spec

    if find_spec("torch") is not None:
        import torch

        torch.manual_seed(seed)


def notebooks_dir() -> Path:
    """The folder holding the course notebooks (inside the installed package or the checkout)."""
    packaged = resources.files(__name__) / "course"
    if packaged.is_dir() and any(p.name.endswith(".ipynb") for p in packaged.iterdir()):
        return Path(str(packaged))
    return Path(__file__).resolve().parent.parent / "notebooks"


def notebook_paths() -> list[Path]:
    """The numbered course notebooks, in order."""
    return sorted(notebooks_dir().glob("[0-9][0-9]_*.ipynb"))


def reference(name: str):
    """trviz's own answer to exercise ``name``, as a function with the exercise's parameters."""
    return EXERCISES[name].reference


def __getattr__(name: str):
    """``check_<exercise>``: the checker of every exercise in the table."""
    if name.startswith("check_") and name[len("check_") :] in CHECKERS:
        return CHECKERS[name[len("check_") :]]
    raise AttributeError(f"module 'tr_notebooks' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "SMOKE", "Course", "setup", "png_export_available", "notebooks_dir", "notebook_paths",
    "EXERCISES", "Verdict", "check", "reference", "compare",
    *(f"check_{name}" for name in CHECKERS),
]  # fmt: skip
