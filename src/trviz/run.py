"""What a run fixes before its first step.

- :func:`choose_tree`: the ONE function that resolves the tree a config verifies on a model
  (explicit tree, the device/dtype table, the sampling table, or this machine's cached tree
  sweep), and says why. The decoder, the demo, the bench and the sweep all call it, so what they
  print is what runs.
- :func:`choose_cost`: likewise, the forward cost curve the per-step budget prices trees with.
- :func:`start_run`: the setup :func:`~trviz.decode.generate` and :func:`~trviz.decode.greedy`
  share: prompt ids (checked against the context window), sampling parameters, recording, the
  end-of-sequence ids and the clock.
- :func:`prepare_matrix`: a fresh matrix, or a copy of the one passed in after checking it fits.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import torch

from trviz.checks import int_at_least
from trviz.config import TRConfig, TreeChoice
from trviz.cost import BUILTIN, GPU_CURVE, CostModel
from trviz.errors import ConfigError, PromptError
from trviz.matrix import Matrix, check_matrix, new_matrix
from trviz.model import (
    check_prompt_ids,
    context_window,
    encode_prompt,
    eos_ids,
    tokenizer_fingerprint,
)
from trviz.plumbing import Clock, dtype_name
from trviz.recording import Recorder
from trviz.sampling import SamplingParams, make_generator
from trviz.sweep_cache import load_sweep, swept_tree


def choose_tree(config: TRConfig, model, sampling: bool = False) -> TreeChoice:
    """The tree ``config`` verifies on ``model`` (its device, dtype and name), lookup branch
    included, with the source of the choice (:meth:`TRConfig.resolve_tree`)."""
    device_type, dtype = model.device.type, dtype_name(model.dtype)
    swept = None
    if config.tree == "auto" and not sampling:
        swept = swept_tree(getattr(model, "name_or_path", None), device_type, dtype)
    return config.resolve_tree(device_type, dtype, sampling=sampling, swept=swept)


def choose_cost(model) -> CostModel:
    """The cost model the per-step budget prices its trees with on ``model``: the (q, L) grid
    ``trviz bench --sweep-trees`` cached for this model, device and dtype, else the built-in
    curve for the device (:data:`trviz.cost.BUILTIN`; a flat-then-linear curve on CUDA). Its
    ``source`` says which, and is recorded in the trace meta (``cost_source``)."""
    device_type, dtype = model.device.type, dtype_name(model.dtype)
    name = getattr(model, "name_or_path", None)
    data = load_sweep(name, device_type, dtype) if name else None
    if data and isinstance(data.get("cost_grid"), dict):
        try:
            return CostModel.from_dict(data["cost_grid"], f"tree sweep ({data.get('cache_file')})")
        except (KeyError, TypeError, ValueError, ConfigError):
            pass  # an unreadable grid: the built-in curve
    if device_type == "cuda":
        return GPU_CURVE
    return BUILTIN.get((device_type, dtype), BUILTIN[("cpu", "float32")])


@dataclass(frozen=True)
class Run:
    """The constants of one generation."""

    ids: list[int]  # prompt token ids
    max_new_tokens: int
    eos: frozenset[int]
    sampling: SamplingParams | None
    generator: torch.Generator | None
    recorder: Recorder
    clock: Clock


def start_run(
    model,
    tokenizer,
    prompt: Any,
    max_new_tokens: int,
    *,
    chat: bool | None,
    record: str,
    on_step,
    sampling: SamplingParams | None,
    tree_size: int = 1,
    sync: bool | None = True,
) -> Run:
    """Check the request and fix a run's constants. ``tree_size``: tokens one step verifies
    (they must fit the context window too); ``sync``: time CUDA with synchronisation (None:
    only when the run records steps)."""
    int_at_least("max_new_tokens", max_new_tokens, 1)
    recorder = Recorder(record, on_step)
    ids = encode_prompt(tokenizer, prompt, chat)
    check_prompt_ids(model, ids)
    window = context_window(model)
    if window is not None and len(ids) + max_new_tokens + tree_size > window:
        raise PromptError(
            f"prompt ({len(ids)} tokens) + max_new_tokens ({max_new_tokens}) + tree ({tree_size}) "
            f"exceeds the model's context window of {window} tokens; shorten the prompt"
        )
    return Run(
        ids=ids,
        max_new_tokens=max_new_tokens,
        eos=eos_ids(model, tokenizer),
        sampling=sampling,
        generator=make_generator(sampling, model.device),
        recorder=recorder,
        clock=Clock(model.device, sync=recorder.level != "none" if sync is None else sync),
    )


def prepare_matrix(model, tokenizer, config: TRConfig, matrix: Matrix | None) -> Matrix:
    """A fresh matrix for ``model``, or a copy of ``matrix`` once checked against the model's
    vocabulary and ``config.k`` (the caller's matrix is never modified)."""
    vocab = model.get_output_embeddings().weight.shape[0]
    fp = tokenizer_fingerprint(tokenizer, vocab) if tokenizer is not None else ""  # ids only
    if matrix is None:
        fill = -1 if config.dedupe else 0
        matrix = new_matrix(vocab, config.k, fill=fill, device=model.device, fingerprint=fp)
    else:
        check_matrix(matrix, vocab, config.k, fp)
        matrix = matrix.clone()
    created = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    for key, value in (
        ("model", model.name_or_path or type(model).__name__),
        ("k", config.k),
        ("created", created),
    ):
        matrix.meta.setdefault(key, value)  # what a saved matrix says about where it came from
    return matrix
