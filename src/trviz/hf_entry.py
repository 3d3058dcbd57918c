"""Token Recycling from Hugging Face's ``model.generate``: the ``custom_generate`` entry.

Two ways in, one engine (:func:`trviz.generate`)::

    model.generate(input_ids, custom_generate=trviz.custom_generate, max_new_tokens=64)
    model.generate(input_ids, custom_generate=trviz.custom_generate_dir(), trust_remote_code=True,
                   tokenizer=tok, max_new_tokens=64)

How transformers calls each (read in 5.24's ``generation/utils.py``, ``GenerationMixin.generate``):

- A callable: ``generate`` does its usual preparation (the ``GenerationConfig`` merged with the
  keyword arguments, special tokens, logits processors, stopping criteria, model kwargs, an empty
  cache), then calls ``fn(model, input_ids, logits_processor=, stopping_criteria=,
  generation_config=, **custom, **model_kwargs)``. Keywords named in ``fn``'s signature but not in
  ``GenerationMixin._sample``'s (here ``config``, ``matrix``, ``on_step``, ``record``,
  ``stop_strings``) are taken out of the user's keywords and passed through. It passes neither the
  ``streamer`` (after putting the prompt into it) nor the ``tokenizer`` nor an ``assistant_model``:
  :func:`custom_generate` reads the streamer and the assistant from the running ``generate`` call
  (:func:`_from_generate_call`); without a tokenizer, ``stop_strings`` are refused with a pointer
  to the folder form, and the result carries no text.
- A folder holding ``custom_generate/generate.py``: ``generate`` imports that file (it needs
  ``trust_remote_code=True``, local folders included) and calls its ``generate(model=...,
  **every argument as given)`` without any preparation. The shipped file
  (:func:`custom_generate_dir`) hands the call back to ``GenerationMixin.generate`` with
  :func:`custom_generate`, binding the streamer and the tokenizer it was given
  (:func:`folder_generate`).

Either way the result is what ``generate`` returns: prompt + new ids ``[1, L + n]``, or with
``return_dict_in_generate=True`` a :class:`TRGenerateOutput` (a ``GenerateDecoderOnlyOutput``
with ``sequences`` and ``trviz``, the run's :class:`~trviz.decode.GenerationResult`).
"""

from __future__ import annotations

import copy
import functools
import inspect
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from transformers.generation.configuration_utils import GenerationMode
from transformers.generation.logits_process import (
    TemperatureLogitsWarper,
    TopKLogitsWarper,
    TopPLogitsWarper,
)
from transformers.generation.stopping_criteria import StoppingCriteriaList, StopStringCriteria
from transformers.generation.utils import GenerateDecoderOnlyOutput, GenerationMixin

from trviz.decode import GenerationResult, StepHook, generate
from trviz.errors import ConfigError

SUPPORTED = (
    "Token Recycling through model.generate supports one sequence (batch size 1, no padding) "
    "of a decoder-only model, greedy search or sampling (do_sample with temperature, top_k, "
    "top_p), max_new_tokens/max_length, eos_token_id (one or a list), stopping_criteria, "
    "stop_strings (folder form with tokenizer=), a streamer and return_dict_in_generate"
)
# model kwargs that generate prepares and Token Recycling does without: its own positions, an
# all-ones mask (generate drops it to None), its own DynamicCache, logits for the whole tree.
PREPARED_KWARGS = frozenset(
    {"attention_mask", "position_ids", "cache", "logits_to_keep", "use_cache"}
)
# the logits warpers TR's exact sampling applies, in the order it applies them (as generate does)
WARPERS = {
    TemperatureLogitsWarper: "temperature",
    TopKLogitsWarper: "top_k",
    TopPLogitsWarper: "top_p",
}
PER_TOKEN_OUTPUTS = ("output_scores", "output_logits", "output_attentions", "output_hidden_states")


@dataclass
class TRGenerateOutput(GenerateDecoderOnlyOutput):
    """``model.generate``'s output object (``sequences``; ``scores``, ``logits``, ``attentions``,
    ``hidden_states`` and ``cache`` stay None) plus ``trviz``: the run's result (``stats``,
    ``matrix`` for a hot start, ``trace`` when recorded, ``finish_reason``)."""

    trviz: GenerationResult | None = None


def custom_generate(
    model,
    input_ids: torch.Tensor,
    logits_processor=None,
    stopping_criteria=None,
    generation_config=None,
    synced_gpus: bool = False,
    streamer=None,
    *,
    tokenizer=None,
    stop_strings: str | list[str] | None = None,
    config: Any = None,
    matrix: Any = None,
    on_step: StepHook | None = None,
    record: str = "none",
    **model_kwargs: Any,
) -> torch.Tensor | TRGenerateOutput:
    """Token Recycling as ``model.generate(input_ids, custom_generate=trviz.custom_generate, ...)``.

    Honours what applies of the ``GenerationConfig``: ``max_new_tokens``/``max_length``, EOS ids,
    ``do_sample`` with ``temperature``/``top_k``/``top_p`` (TR's exact sampling; the seed is drawn
    from torch's global generator, so ``torch.manual_seed`` makes a run repeatable), every stopping
    criterion (applied token by token, as ``generate`` does, so the output ends where its would),
    a streamer (committed tokens are put as each step accepts them, several at once), and
    ``return_dict_in_generate``. Anything else it cannot honour is refused with a
    :class:`~trviz.errors.ConfigError` naming what is supported.

    trviz's options, as extra keywords: ``config`` (a TRConfig, preset name or dict), ``matrix``
    (hot start; the updated one is ``output.trviz.matrix``), ``on_step`` (each step's record),
    ``record`` (``"none"`` by default; ``"summary"``/``"full"`` put a trace in ``output.trviz``).
    ``tokenizer``: only the folder form receives it (transformers drops it for a callable).
    ``synced_gpus`` is accepted and ignored (one process). The return type follows
    ``return_dict_in_generate`` because that is ``generate``'s contract.
    """
    gc = generation_config
    caller_streamer, assistant = _from_generate_call("streamer", "assistant_model")
    streamer = streamer if streamer is not None else caller_streamer
    try:
        check_supported(model, input_ids, gc, model_kwargs, assistant)
        sampling = sampling_keywords(gc, logits_processor or [])
        criteria = _with_stop_strings(stopping_criteria, stop_strings, tokenizer)
        prompt, budget = input_ids[0].tolist(), gc.max_length - input_ids.shape[1]
        stopping = HFStopping(criteria, input_ids, budget, streamer)
        result = generate(
            model, tokenizer, prompt, budget, config=config, matrix=matrix, on_step=on_step,
            record=record, stopping=stopping, **sampling,
        )  # fmt: skip
    finally:
        if streamer is not None:
            streamer.end()
    result.finish_reason = _finish_reason(result, gc, budget)
    if result.trace is not None:
        result.trace.meta["finish_reason"] = result.finish_reason
    new = torch.tensor([result.tokens], dtype=input_ids.dtype, device=input_ids.device)
    sequences = torch.cat([input_ids, new], dim=1)  # [1, L + n]
    return (
        TRGenerateOutput(sequences=sequences, trviz=result)
        if gc.return_dict_in_generate
        else sequences
    )


def custom_generate_dir() -> str:
    """The folder shipped in the package, laid out as a Hub ``custom_generate`` repository, for
    ``model.generate(..., custom_generate=trviz.custom_generate_dir(), trust_remote_code=True)``.

    A ``str``: ``generate`` takes only a string for a repository or folder (a ``Path`` is neither
    a string nor callable, and ``generate`` would silently decode its own way).
    """
    return str(Path(__file__).parent / "hub_repo")


def folder_generate(model, **arguments: Any):
    """What the shipped ``custom_generate/generate.py`` runs: ``model.generate``'s arguments as
    given (nothing prepared), handed back to ``GenerationMixin.generate`` with
    :func:`custom_generate`, the streamer and the tokenizer bound (a callable gets neither).

    Stop strings in a ``generation_config`` move to the ``stop_strings`` keyword, which
    :func:`custom_generate` turns into a criterion with the tokenizer (``generate`` would look for
    the tokenizer it no longer has).
    """
    tokenizer = arguments.pop("tokenizer", None)
    gc = arguments.get("generation_config")
    if gc is not None and gc.stop_strings is not None:
        gc = copy.deepcopy(gc)
        arguments.setdefault("stop_strings", gc.stop_strings)
        gc.stop_strings = None
        arguments["generation_config"] = gc
    entry = functools.partial(
        custom_generate, tokenizer=tokenizer, streamer=arguments.get("streamer")
    )
    return GenerationMixin.generate(model, custom_generate=entry, **arguments)


# ----- what the entry honours and refuses -------------------------------------------------------


def unsupported(what: str) -> ConfigError:
    return ConfigError(f"{what} is not supported. {SUPPORTED}.")


def check_supported(model, input_ids: torch.Tensor, gc, model_kwargs: dict, assistant) -> None:
    """Raise :func:`unsupported` for the first setting Token Recycling cannot honour."""
    if model.config.is_encoder_decoder:
        raise unsupported("an encoder-decoder model")
    if (gc.num_return_sequences or 1) > 1:
        raise unsupported(f"num_return_sequences={gc.num_return_sequences}")
    if (gc.num_beams or 1) > 1:
        raise unsupported(f"beam search (num_beams={gc.num_beams})")
    if input_ids.shape[0] != 1:
        raise unsupported(f"a batch of {input_ids.shape[0]} sequences")
    mode = gc.get_generation_mode(assistant)
    if mode not in (GenerationMode.GREEDY_SEARCH, GenerationMode.SAMPLE):
        raise unsupported(f"{str(mode.value).replace('_', ' ')} (another decoding method)")
    mask = model_kwargs.get("attention_mask")
    if mask is not None and not bool(mask.all()):
        raise unsupported("an attention mask with padding")
    extra = sorted(k for k, v in model_kwargs.items() if v is not None and k not in PREPARED_KWARGS)
    if extra:
        raise unsupported(f"extra model inputs {extra}")
    if getattr(model_kwargs.get("cache"), "_is_user_defined", False):
        raise unsupported("a cache passed in (Token Recycling builds and compacts its own)")
    if gc.cache_implementation not in (None, "dynamic"):
        raise unsupported(f"cache_implementation={gc.cache_implementation!r}")
    per_token = [name for name in PER_TOKEN_OUTPUTS if getattr(gc, name)]
    if gc.return_dict_in_generate and per_token:
        raise unsupported(f"{', '.join(per_token)} (per-token outputs are not kept)")


def sampling_keywords(gc, processors) -> dict[str, Any]:
    """:func:`trviz.generate`'s sampling keywords for the warpers ``generate`` prepared ({} for
    greedy search, where they cannot change the argmax); any other logits processor is refused."""
    order = tuple(WARPERS.values())
    found: dict[str, float] = {}
    for p in processors:
        name = WARPERS.get(type(p))
        if name is None:
            raise unsupported(f"the logits processor {type(p).__name__}")
        if found and order.index(name) <= max(order.index(n) for n in found):
            raise unsupported("logits warpers repeated or out of temperature, top_k, top_p order")
        if getattr(p, "min_tokens_to_keep", 1) > 1:
            raise unsupported(f"{type(p).__name__} with min_tokens_to_keep > 1")
        found[name] = getattr(p, name)
    if not gc.do_sample:
        return {}
    seed = int(torch.randint(0, 2**62, (1,)))  # from torch's global generator: manual_seed repeats
    return {"temperature": found.get("temperature", 1.0), "top_k": found.get("top_k"),
            "top_p": found.get("top_p"), "seed": seed}  # fmt: skip


def _with_stop_strings(criteria, stop_strings, tokenizer) -> StoppingCriteriaList:
    criteria = StoppingCriteriaList(criteria or [])
    if stop_strings is None:
        return criteria
    if tokenizer is None:
        raise unsupported(
            "stop_strings without a tokenizer (transformers does not pass tokenizer= to a "
            "callable custom_generate; use custom_generate=trviz.custom_generate_dir() with "
            "trust_remote_code=True and tokenizer=, or stopping_criteria=[StopStringCriteria("
            "tokenizer, stop_strings)])"
        )
    criteria.append(StopStringCriteria(tokenizer, stop_strings))
    return criteria


def _finish_reason(result: GenerationResult, gc, budget: int) -> str:
    """``"eos"``, ``"length"`` or ``"stop"`` (another criterion) for a run ended by criteria."""
    if result.finish_reason != "stop":
        return result.finish_reason
    eos = gc.eos_token_id if isinstance(gc.eos_token_id, list) else [gc.eos_token_id]
    if result.tokens[-1] in eos:
        return "eos"
    return "length" if len(result.tokens) == budget else "stop"


class HFStopping:
    """``generate``'s stopping criteria and streamer as :func:`trviz.generate`'s ``stopping``.

    Each step's committed tokens are appended to a buffer holding prompt + output ``[1, L +
    budget]``; the criteria run after each token, as ``generate``'s loop runs them, and the first
    that fires cuts the step there. The kept tokens go to the streamer in one ``put``.
    """

    def __init__(self, criteria: StoppingCriteriaList, prompt: torch.Tensor, budget: int, streamer):
        self.criteria, self.streamer, self.length = criteria, streamer, prompt.shape[1]
        self.ids = prompt.new_empty(1, self.length + max(budget, 0))  # [1, L + budget]
        self.ids[:, : self.length] = prompt

    def __call__(self, tokens: list[int]) -> int | None:
        start, n = self.length, len(tokens)
        self.ids[0, start : start + n] = torch.tensor(tokens, dtype=self.ids.dtype)
        keep = next(
            (i for i in range(1, n + 1) if self.criteria(self.ids[:, : start + i], None).any()),
            None,
        )
        self.length += n if keep is None else keep
        if self.streamer is not None:
            self.streamer.put(self.ids[0, start : self.length].cpu())
        return keep


def _from_generate_call(*names: str) -> tuple[Any, ...]:
    """Locals of the ``GenerationMixin.generate`` call running this entry (None each if none).

    A callable ``custom_generate`` is handed no ``streamer`` although ``generate`` has already put
    the prompt into it (a ``TextIteratorStreamer``'s reader would otherwise wait for ever), and no
    ``assistant_model``; both are arguments of that call, so they are read from its frame.
    """
    code = inspect.unwrap(GenerationMixin.generate).__code__
    frame = inspect.currentframe()
    try:
        while frame is not None and frame.f_code is not code:
            frame = frame.f_back
        scope = frame.f_locals if frame is not None else {}
        return tuple(scope.get(name) for name in names)
    finally:
        del frame
