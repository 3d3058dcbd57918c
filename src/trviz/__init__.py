"""trviz: learn, see and measure Token Recycling (Luo et al., arXiv 2408.08696, ACL 2025).

Token Recycling drafts from an *adjacency matrix* ``M [V, k]`` whose row ``t`` holds the top-k
tokens the model last predicted after token ``t``. Each step fills a static BFS *tree template*
from the matrix, verifies the whole tree in one forward with *tree attention*, commits the longest
accepted path plus a *bonus* token, and *recycles* every node's top-k back into the matrix.

Glossary (paper term -> code name):
    adjacency matrix        -> ``Matrix`` / ``matrix.table`` ``[V, k]``  (trviz.matrix)
    draft tree / template   -> ``Tree`` (BFS parent array), presets ``"2.2.2"``, ``"tr-16"``...
    BFS draft fill          -> ``trviz.matrix.draft``
    tree attention          -> ``trviz.tree_attention.tree_mask`` / ``tree_positions``
    verification / accept   -> ``trviz.verify.accept``
    KV cache compaction     -> ``trviz.kv.compact``
    matrix update (recycle) -> ``trviz.matrix.update`` / ``write_winners``
    hot start               -> pass ``result.matrix`` back into ``generate``
    MAT (mean accepted tokens per forward) -> ``result.stats.mat``

Public API: ``load_model``, ``generate``, ``greedy``, ``hf_generate``, ``TRConfig``, ``Tree``,
``load_trace``, ``new_matrix``, ``load_matrix``; views ``animate`` (staged replay), ``Player``,
``to_html``, ``recycling_stats`` (where accepted drafts came from) and the figures of
``trviz.views.VIEWS``; ``custom_generate`` and ``custom_generate_dir()`` run Token Recycling
from ``model.generate(custom_generate=...)``. Heavy modules (torch, transformers) load on first
use, so ``import trviz`` and the trace/tree modules stay light.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from trviz.config import TRConfig
from trviz.errors import (
    CacheError,
    ConfigError,
    MatrixError,
    ModelLoadError,
    PromptError,
    TemplateError,
    TraceError,
    TrvizError,
)
from trviz.trace import StepRecord, Trace, TraceMeta, load_trace
from trviz.trees import PRESETS as TREES
from trviz.trees import Tree, get_tree

__version__ = "0.1.0"

_LAZY = {
    "load_model": "trviz.model",
    "generate": "trviz.decode",
    "greedy": "trviz.decode",
    "hf_generate": "trviz.decode",
    "custom_generate": "trviz.hf_entry",
    "custom_generate_dir": "trviz.hf_entry",
    "GenerationResult": "trviz.decode",
    "LiveTrace": "trviz.recording",
    "Matrix": "trviz.matrix",
    "new_matrix": "trviz.matrix",
    "load_matrix": "trviz.matrix",
    "run_bench": "trviz.bench.runner",
    "BenchResult": "trviz.bench.result",
    "SamplingParams": "trviz.sampling",
    "animate": "trviz.animation",
    "step_figure": "trviz.animation",
    "to_html": "trviz.export",
    "save_png": "trviz.export",
    "save_apng": "trviz.export",
    "Player": "trviz.widgets",
    "describe_step": "trviz.describe",
    "recycling_stats": "trviz.recycling",
    "node_acceptance": "trviz.acceptance_stats",
    "tree_figure": "trviz.views",
    "matrix_figure": "trviz.views",
    "mask_figure": "trviz.views",
    "text_figure": "trviz.views",
    "accepted_figure": "trviz.views",
    "mat_figure": "trviz.views",
    "speed_figure": "trviz.views",
    "recycling_figure": "trviz.views",
    "row_story_figure": "trviz.views",
    "acceptance_figure": "trviz.views",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'trviz' has no attribute {name!r}")


__all__ = [
    "TRConfig", "Tree", "TREES", "get_tree", "Trace", "TraceMeta", "StepRecord", "load_trace",
    "TrvizError", "TemplateError", "ConfigError", "PromptError", "MatrixError",
    "ModelLoadError", "CacheError", "TraceError", *_LAZY,
]  # fmt: skip
