"""One target forward on an unmodified HF model: prefill, a single token, or a draft tree."""

from __future__ import annotations

import torch

from trviz.tree_attention import TreeTensors, tree_mask, tree_positions


def prefill(model, cache, ids: torch.Tensor, all_logits: bool = False) -> torch.Tensor | None:
    """Run the prompt ``ids [L]`` into the cache. Returns logits ``[L, V]`` if ``all_logits``."""
    if ids.numel() == 0:
        return None
    kwargs = {} if all_logits else {"logits_to_keep": 1}
    out = model(input_ids=ids[None], cache=cache, use_cache=True, **kwargs)
    return out.logits[0] if all_logits else None


def forward_one(model, cache, token: torch.Tensor) -> torch.Tensor:
    """Logits ``[V]`` after appending one token (plain causal decoding)."""
    return model(input_ids=token.view(1, 1), cache=cache, use_cache=True).logits[0, -1]


def forward_tree(
    model, cache, tokens: torch.Tensor, tt: TreeTensors, prefix_len: int, mask_kind: str
) -> torch.Tensor:
    """Logits ``[S, V]`` for root + drafted nodes under tree attention.

    Unwritten draft slots (``-1``) are fed as token 0: verification can never accept them. The
    root alone (a budget that kept no draft) is a plain causal step: no mask to build.
    """
    if tokens.shape[0] == 1:
        return forward_one(model, cache, tokens)[None]
    mask = tree_mask(tt, prefix_len, mask_kind, model.dtype)
    out = model(
        input_ids=tokens.clamp_min(0)[None],
        position_ids=tree_positions(tt, prefix_len),
        attention_mask=mask,
        cache=cache,
        use_cache=True,
    )
    return out.logits[0]
