"""Course notebooks under pytest: nbval items get the ``notebook`` and ``slow`` markers.

``python -m pytest`` collects ``notebooks/*.ipynb`` with ``--nbval-lax`` (see pyproject.toml), so
``-m "not notebook"`` skips the course and ``-m notebook`` runs only it. The notebook kernels run
in smoke mode (``CI=true`` in their environment) unless ``TR_NOTEBOOKS_FULL=1``: the checked
outputs do not depend on it, and smoke mode keeps the whole course to a few minutes. The test
process's own environment is restored after each notebook cell is set up.
"""

from __future__ import annotations

import os

import pytest

_SAVED: dict[str, str | None] = {}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.path.suffix == ".ipynb":
            item.add_marker(pytest.mark.notebook)
            item.add_marker(pytest.mark.slow)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item):
    """nbval starts a notebook's kernel while setting up its first cell: give it smoke mode."""
    if item.path.suffix != ".ipynb":
        yield
        return
    wanted = {"HF_HUB_OFFLINE": "1"}
    if os.environ.get("TR_NOTEBOOKS_FULL", "") != "1":
        wanted["CI"] = "true"
    saved = {k: os.environ.get(k) for k in wanted}
    os.environ.update(wanted)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
