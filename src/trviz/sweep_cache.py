"""Where ``trviz bench --sweep-trees`` keeps its measurement, and the tree it chose. Stdlib only.

It lives below both :mod:`trviz.config` (which reads the chosen tree) and :mod:`trviz.bench`
(which writes it), so the decoder's configuration never imports the benchmark package.

One JSON file per (model, device type, dtype) under ``trviz.model.cache_root()/sweeps``. The
default configuration (``TRConfig(tree="auto")``) verifies the chosen tree
(:func:`trviz.run.choose_tree` reads it through :func:`swept_tree`, and the trace meta records
it as the tree's source); delete the file (or pass an explicit tree) to go back to the static
table ``trviz.config.AUTO_TREES``.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from trviz.model import cache_root  # stdlib-only at import time
from trviz.plumbing import write_atomic
from trviz.trees import PRESETS

SCHEMA = "trviz.sweep"


def sweep_key(model_name: str, device_type: str, dtype_name: str) -> str:
    """File stem for a model/device/dtype: readable model basename + a hash of the full name."""
    name = str(model_name)
    base = re.sub(r"[^A-Za-z0-9._-]+", "_", Path(name.rstrip("/")).name or "model")[:60]
    digest = hashlib.sha256(name.encode()).hexdigest()[:8]
    return f"{base}-{digest}-{device_type}-{dtype_name}"


def sweep_path(model_name: str, device_type: str, dtype_name: str) -> Path:
    return cache_root() / "sweeps" / f"{sweep_key(model_name, device_type, dtype_name)}.json"


def save_sweep(data: dict[str, Any], model_name: str, device_type: str, dtype_name: str) -> Path:
    """Write a sweep result atomically (temp file + rename)."""
    path = sweep_path(model_name, device_type, dtype_name)
    return write_atomic(path, json.dumps({"schema": SCHEMA, **data}, indent=1))


def load_sweep(model_name: str, device_type: str, dtype_name: str) -> dict[str, Any] | None:
    """The cached sweep for this model/device/dtype, or None (missing or unreadable file)."""
    path = sweep_path(model_name, device_type, dtype_name)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) and data.get("schema") == SCHEMA else None


def swept_tree(model_name: str | None, device_type: str, dtype_name: str) -> tuple[str, str] | None:
    """``(preset tree name, cache file)`` the cached sweep chose, or None without a usable one."""
    if not model_name:
        return None
    data = load_sweep(model_name, device_type, dtype_name)
    best = data.get("best_tree") if data else None
    if best not in PRESETS:
        return None
    return best, str(sweep_path(model_name, device_type, dtype_name))
