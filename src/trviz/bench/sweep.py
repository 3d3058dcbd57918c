"""Hardware-aware tree choice: what a forward over q tokens costs here, and what each tree buys.

A TR step verifies ``tree.size`` tokens in one forward and commits MAT tokens on average; plain
greedy commits one token per one-token forward. So a tree pays on this device iff

    MAT > break-even MAT = (forward cost at q = tree.size + TR's per-step overhead) / cost at q = 1

:func:`sweep_trees` measures the cost curve (median over interleaved repeats, on a prefilled
cache) and each tree's MAT and per-step overhead (draft, verify, compact, update) on a few prompts
with a hot start, then predicts each tree's speedup as ``MAT / break-even`` and picks the best.
MAT does not depend on timing, so only the cost curve is noisy. The result is cached per
model/device/dtype (:mod:`trviz.sweep_cache`) and ``TRConfig(tree="auto")`` uses it.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Callable, Sequence
from functools import partial
from typing import Any

import torch

from trviz.bench.runner import busy_cpu_s
from trviz.bench.suite import WARMUP_PROMPTS, builtin_suite
from trviz.config import TRConfig
from trviz.cost import CostModel
from trviz.forward import forward_tree, prefill
from trviz.kv import crop, new_cache
from trviz.plumbing import Clock, dtype_name
from trviz.run import choose_tree
from trviz.sweep_cache import save_sweep
from trviz.tree_attention import TreeTensors, mask_kind
from trviz.trees import get_tree

SWEEP_TREES = ("chain-4", "tr-8", "tr-12", "tr-16", "tr-24", "tr-32", "tr-40", "2.2.2")
SWEEP_Q = (1, 2, 4, 8, 16, 24, 32, 48, 64, 96, 128)
GRID_Q = (1, 2, 3, 4, 6, 8, 10, 12, 14, 16, 20, 24, 28, 32, 40, 48, 64, 80, 96, 128)
GRID_LENS = (64, 256, 512, 1024, 2048, 4096)
PREFIX_LEN = 256  # the context length of the 1-D curve the tree choice reads
SWEEP_CATEGORIES = ("code", "translation", "math_reasoning", "mt_bench")


@torch.inference_mode()
def forward_cost_grid(
    model,
    qs: Sequence[int] = GRID_Q,
    lens: Sequence[int] = GRID_LENS,
    repeats: int = 5,
    seed: int = 0,
    log: Callable[[str], None] | None = None,
) -> tuple[CostModel, dict[str, float]]:
    """Median seconds of one tree forward over ``q`` tokens after ``L`` cached tokens, as a
    :class:`~trviz.cost.CostModel` (no overhead), and how quiet the machine was.

    The forward is the decoder's own (:func:`trviz.forward.forward_tree`, a 4-D mask, here a
    chain). One cache per ``L``; repeats interleaved over ``L`` and ``q`` so drift hits every
    cell alike; one untimed pass first; the cache is cropped back after every forward. A sample
    during which other processes kept more than :data:`QUIET_CORES` cores busy is taken again
    (up to :data:`QUIET_TRIES` times): a shared machine inflates small forwards most.
    """
    gen = torch.Generator().manual_seed(seed)
    vocab = model.get_output_embeddings().weight.shape[0]
    ids = torch.randint(0, vocab, (max(lens) + max(qs),), generator=gen).to(model.device)
    caches = {}
    for n in lens:
        caches[n] = new_cache(model)
        prefill(model, caches[n], ids[:n])
    chains = {q: TreeTensors.build(get_tree([(0,) * d for d in range(1, q)]), model.device)
              for q in qs}  # fmt: skip
    kind, clock = mask_kind(model), Clock(model.device)

    def forward(n: int, q: int) -> None:
        forward_tree(model, caches[n], ids[n : n + q], chains[q], n, kind)
        crop(caches[n], n)

    times: dict[tuple[int, int], list[float]] = {(n, q): [] for n in lens for q in qs}
    others, retaken = [], 0
    for r in range(repeats + 1):
        for n in lens:
            for q in qs:
                seconds, busy, tries = quiet_time(partial(forward, n, q), clock)
                if r:
                    times[n, q].append(seconds)
                    others.append(busy)
                    retaken += tries - 1
        if log:
            log(f"cost grid: pass {r}/{repeats} done")
    med = {key: sorted(ts)[len(ts) // 2] for key, ts in times.items()}
    rows = tuple(tuple(med[n, q] for q in qs) for n in lens)
    quiet = {"others_cores_mean": sum(others) / len(others), "others_cores_max": max(others),
             "retaken": retaken, "samples": len(others)}  # fmt: skip
    return CostModel(tuple(qs), tuple(lens), rows, source="measured"), quiet


QUIET_CORES = 0.25
QUIET_TRIES = 6


def quiet_time(fn: Callable[[], None], clock: Clock) -> tuple[float, float, int]:
    """``(seconds, other processes' busy cores, tries)`` of ``fn()``, retaken while other
    processes kept more than :data:`QUIET_CORES` cores busy (at most :data:`QUIET_TRIES` tries;
    the last try counts whatever it measured). Without ``/proc/stat`` the first try counts."""
    for tries in range(1, QUIET_TRIES + 1):
        busy0, cpu0 = busy_cpu_s(), time.process_time()
        t0 = clock()
        fn()
        wall = clock() - t0
        cpu, busy1 = time.process_time() - cpu0, busy_cpu_s()
        if busy0 is None or busy1 is None:
            return wall, 0.0, tries
        others = max(busy1 - busy0 - cpu, 0.0) / wall
        if others <= QUIET_CORES:
            break
    return wall, others, tries


def tree_mat(
    model, tokenizer, tree: str, prompts: Sequence[Any], warmup: Sequence[str], max_new_tokens: int
) -> dict[str, float]:
    """MAT and per-step overhead of the static config (:data:`~trviz.config.STATIC`: a fixed
    tree plus a longest-match copy branch) with ``tree``, hot start over prompts."""
    from trviz.decode import generate

    cfg = TRConfig.preset("static", tree=tree)
    matrix = None
    for p in warmup:
        matrix = generate(
            model, tokenizer, p, max_new_tokens, cfg, matrix=matrix, record="none"
        ).matrix
    tokens = steps = 0
    overhead = forward = 0.0
    for p in prompts:
        r = generate(model, tokenizer, p, max_new_tokens, cfg, matrix=matrix, record="none")
        matrix = r.matrix
        tokens, steps = tokens + r.stats.new_tokens, steps + r.stats.steps
        forward += r.stats.phase_s.get("forward", 0.0)
        overhead += sum(r.stats.phase_s.values()) - r.stats.phase_s.get("forward", 0.0)
    return {
        "mat": tokens / steps,
        "overhead_s": overhead / steps,
        "measured_forward_s": forward / steps,
        "steps": steps,
    }


def best_measured_tree(cost_s: dict[int, float], trees: dict[str, dict[str, Any]]) -> str:
    """Fill in each tree's break-even MAT and predicted speedup; return the best tree's name."""
    base = cost_s[1]
    for t in trees.values():
        t["forward_s"] = cost_s[t["size"]]
        t["step_s"] = t["forward_s"] + t["overhead_s"]
        t["break_even_mat"] = t["step_s"] / base
        t["predicted_speedup"] = t["mat"] / t["break_even_mat"]
    return max(trees, key=lambda name: trees[name]["predicted_speedup"])


def fit_overhead(trees: dict[str, dict[str, Any]]) -> tuple[float, float]:
    """Per-step overhead ``a + b * q`` seconds, least squares over the measured trees (``size``,
    ``overhead_s``); one tree: a constant."""
    pts = [(t["size"], t["overhead_s"]) for t in trees.values()]
    n, sq = len(pts), sum(q for q, _ in pts)
    var = n * sum(q * q for q, _ in pts) - sq * sq
    if n < 2 or var <= 0:
        return (sum(o for _, o in pts) / n, 0.0)
    b = (n * sum(q * o for q, o in pts) - sq * sum(o for _, o in pts)) / var
    return ((sum(o for _, o in pts) - b * sq) / n, b)


def default_prompts() -> list[str]:
    """First turn of one built-in question per :data:`SWEEP_CATEGORIES`."""
    suite = {q.category: q for q in builtin_suite(1)}
    return [suite[c].turns[0] for c in SWEEP_CATEGORIES]


def sweep_trees(
    model,
    tokenizer,
    trees: Sequence[str] = SWEEP_TREES,
    prompts: Sequence[Any] | None = None,
    warmup: Sequence[str] = WARMUP_PROMPTS,
    max_new_tokens: int = 128,
    qs: Sequence[int] = SWEEP_Q,
    lens: Sequence[int] = GRID_LENS,
    repeats: int = 5,
    save: bool = True,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Measure the cost curve over (q, L) and every static tree's MAT, pick the best tree; cache
    both when ``save`` (``tree="auto"`` on a static config uses the tree, the budget the curve).

    Returns a plain dict: ``cost_s`` {q: seconds at L = 256} (string keys, as in the JSON),
    ``cost_grid`` (:meth:`trviz.cost.CostModel.to_dict`, the per-step overhead fitted from the
    trees), ``quiet`` (how busy other processes kept the machine), ``trees`` {name: size, mat,
    overhead_s, forward_s, step_s, break_even_mat, predicted_speedup}, ``best_tree``, and the
    model/device/dtype/threads it was measured on.
    """
    prompts = default_prompts() if prompts is None else list(prompts)
    # Tokens per forward as the static config drafts each tree (its copy branch included).
    sizes = {
        name: choose_tree(TRConfig.preset("static", tree=name), model).tree.size for name in trees
    }
    all_q = sorted(set(qs) | set(sizes.values()) | {1})
    lens = sorted(set(lens) | {PREFIX_LEN})
    log(f"sweep: forward cost for q in {all_q} at L in {lens} ({repeats} repeats)...")
    grid, quiet = forward_cost_grid(model, all_q, lens, repeats=repeats)
    cost = {q: grid.forward_s(q, PREFIX_LEN) for q in all_q}
    log("sweep: cost x one token: " + " ".join(f"q={q}:{cost[q] / cost[1]:.2f}" for q in all_q))
    measured: dict[str, dict[str, Any]] = {}
    for name in trees:
        log(f"sweep: MAT of tree {name} ({sizes[name]} tokens/forward) on {len(prompts)} prompts")
        measured[name] = {
            "size": sizes[name],
            **tree_mat(model, tokenizer, name, prompts, warmup, max_new_tokens),
        }
    best = best_measured_tree(cost, measured)
    grid = CostModel(grid.qs, grid.lens, grid.seconds, fit_overhead(measured), "tree sweep")
    dtype = dtype_name(model.dtype)
    data = {
        "model": model.name_or_path or type(model).__name__, "device": str(model.device),
        "dtype": dtype, "threads": torch.get_num_threads(), "prefix_len": PREFIX_LEN,
        "max_new_tokens": max_new_tokens, "prompts": len(prompts),
        "copy": TRConfig.preset("static").copy,
        "measured_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "cost_s": {str(q): s for q, s in cost.items()}, "cost_grid": grid.to_dict(),
        "quiet": quiet, "trees": measured, "best_tree": best,
    }  # fmt: skip
    if save and model.name_or_path:
        data["cache_file"] = str(save_sweep(data, model.name_or_path, model.device.type, dtype))
    return data
