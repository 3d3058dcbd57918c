"""The one place that touches KV-cache internals: keep the accepted path, drop the rest.

After a verification forward the cache holds ``prefix + S`` tree entries. Compaction copies the
entries of root + accepted nodes to sit contiguously after the prefix (gather-and-copy), then
crops. Only HF ``DynamicCache`` with full-attention layers is supported; anything else raises
:class:`~trviz.errors.CacheError` up front rather than decoding wrongly.
"""

from __future__ import annotations

import torch

from trviz.errors import CacheError


def new_cache(model):
    """An empty cache of the kind trviz can compact."""
    from transformers import DynamicCache

    cache = DynamicCache(config=model.config)
    check_cache(cache)
    return cache


def check_cache(cache) -> None:
    from transformers.cache_utils import DynamicCache, DynamicLayer

    if type(cache) is not DynamicCache:
        raise CacheError(f"trviz compacts DynamicCache only, not {type(cache).__name__}")
    for i, layer in enumerate(cache.layers):
        if type(layer) is not DynamicLayer:
            raise CacheError(
                f"cache layer {i} is {type(layer).__name__}; trviz supports full-attention "
                "DynamicLayer caches only (sliding-window and hybrid caches are not supported)"
            )


def compact(cache, prefix_len: int, keep: torch.Tensor, n_keep: int, contiguous: bool) -> None:
    """Keep tree entries ``keep`` (tree-relative, ascending, root first) after ``prefix_len``.

    ``contiguous`` (keep == 0..n_keep-1) turns the gather into a plain crop. Layers may sit on
    different devices (accelerate ``device_map``): each gathers with an index on its own device.
    """
    end = prefix_len + n_keep
    for layer in cache.layers:
        if not contiguous:
            src = keep.to(layer.keys.device) + prefix_len
            layer.keys[..., prefix_len:end, :] = layer.keys.index_select(-2, src)
            layer.values[..., prefix_len:end, :] = layer.values.index_select(-2, src)
        layer.keys = layer.keys[..., :end, :]
        layer.values = layer.values[..., :end, :]


def crop(cache, length: int) -> None:
    """Drop entries past ``length``."""
    extra = cache.get_seq_length() - length
    if extra > 0:
        cache.crop(-extra)
