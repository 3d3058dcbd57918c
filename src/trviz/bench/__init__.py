"""``trviz bench``: is Token Recycling worth it for this model on this hardware, and which tree?

Modules: ``suite`` (built-in offline prompts, JSONL prompt files), ``methods`` (registry of
named decoding methods), ``runner`` (the interleaved, Ctrl-C-safe protocol), ``result``
(:class:`BenchResult`, aggregation and JSON; stdlib only), ``report`` (terminal/Markdown tables,
plotly figures), ``sweep`` (forward cost curve, break-even MAT and tree choice; kept by
:mod:`trviz.sweep_cache`, which ``TRConfig(tree="auto")`` reads), ``cli`` (the subcommand).

Python API::

    import trviz
    from trviz.bench import run_bench, builtin_suite
    model, tok = trviz.load_model()
    result = run_bench(model, tok, builtin_suite(1), max_new_tokens=32)
    print(result.summary["tr"]["speedup"])

Heavy modules load on first use, so importing this package stays light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

_LAZY = {
    "run_bench": "trviz.bench.runner",
    "BenchResult": "trviz.bench.result",
    "load_result": "trviz.bench.result",
    "builtin_suite": "trviz.bench.suite",
    "load_prompts": "trviz.bench.suite",
    "Question": "trviz.bench.suite",
    "METHODS": "trviz.bench.methods",
    "register_method": "trviz.bench.methods",
    "tr_method": "trviz.bench.methods",
    "MethodState": "trviz.bench.methods",
    "sweep_trees": "trviz.bench.sweep",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trviz.bench' has no attribute {name!r}")


__all__ = list(_LAZY)
