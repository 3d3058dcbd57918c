"""Large models and long-lived services, checked on CPU.

- A model dispatched by accelerate (``device_map``, offload hooks that move weights and
  activations per layer) decodes with TR unchanged: tokens == greedy tokens.
- KV compaction gathers each cache layer with an index on that layer's own device.
- A matrix that lasts: save -> load -> hot start gives exactly what continuing in memory gives.
The ``gpu`` tests split a model across real devices; they skip without CUDA.
"""

from __future__ import annotations

import pytest
import torch
from tiny_models import TinyTokenizer, make_tiny

import trviz
from trviz.errors import MatrixError
from trviz.kv import compact
from trviz.matrix import load_matrix

pytest.importorskip("accelerate")

PROMPTS = ([5, 7, 3, 9], [11, 12, 13, 11, 12], [40, 41])
TREE = "tr-12"


def assert_tr_equals_greedy(model, tok, n: int = 40) -> None:
    """Hot-started TR over the prompts reproduces greedy, and drafts do get accepted."""
    matrix, accepted = None, 0
    for p in PROMPTS:
        want = trviz.greedy(model, tok, p, n).tokens
        r = trviz.generate(model, tok, p, n, config={"tree": TREE}, matrix=matrix)
        assert r.tokens == want, f"prompt {p}: TR diverged from greedy under this device map"
        matrix, accepted = r.matrix, accepted + sum(len(s.accepted) for s in r.trace)
    assert accepted > 0, "no draft was ever accepted: the tree path was not exercised"


def hooked_modules(model) -> int:
    return sum(hasattr(m, "_hf_hook") for m in model.modules())


def test_dispatched_model_with_disk_offload_decodes_exactly(tmp_path):
    """Layer 1 lives on disk (weights on 'meta' until its hook loads them for each forward)."""
    from accelerate import dispatch_model

    model, tok = make_tiny("llama"), TinyTokenizer()
    device_map = {
        "model.embed_tokens": "cpu",
        "model.rotary_emb": "cpu",
        "model.layers.0": "cpu",
        "model.layers.1": "disk",
        "model.norm": "cpu",
        "lm_head": "cpu",
    }
    model = dispatch_model(model, device_map, main_device="cpu", offload_dir=tmp_path)
    assert model.model.layers[1].self_attn.q_proj.weight.device.type == "meta"
    assert hooked_modules(model) > 0
    assert_tr_equals_greedy(model, tok)


def test_from_pretrained_device_map_auto_decodes_exactly(tmp_path):
    """``device_map="auto"`` with a memory cap too small for the model: accelerate offloads."""
    from transformers import AutoModelForCausalLM

    make_tiny("qwen2").save_pretrained(tmp_path / "tiny")
    model = AutoModelForCausalLM.from_pretrained(
        tmp_path / "tiny",
        device_map="auto",
        max_memory={"cpu": "60KB"},
        offload_folder=tmp_path / "offload",
        attn_implementation="sdpa",
    ).eval()
    assert "disk" in set(model.hf_device_map.values())
    assert_tr_equals_greedy(model, TinyTokenizer())


class IndexDevices(torch.overrides.TorchFunctionMode):
    """Records (tensor device, index device) for every index_select."""

    def __init__(self):
        super().__init__()
        self.pairs: list[tuple[str, str]] = []

    def __torch_function__(self, func, types, args=(), kwargs=None):
        if func is torch.Tensor.index_select:
            self.pairs.append((args[0].device.type, args[2].device.type))
        return func(*args, **(kwargs or {}))


def test_compaction_gathers_on_each_layers_own_device():
    """Two cache layers on two devices ('cpu' and shape-only 'meta'), index built on 'cpu'."""
    from transformers import DynamicCache

    #  prefix (3) | tree: root n1 n2 n3 n4      keep root, n2, n4 -> positions 3, 5, 7
    kv = torch.arange(8.0).view(1, 1, 8, 1).expand(1, 2, 8, 4).contiguous()
    cache = DynamicCache()
    cache.update(kv.clone(), kv.clone(), 0)
    cache.update(kv.to("meta"), kv.to("meta"), 1)
    keep = torch.tensor([0, 2, 4])
    with IndexDevices() as seen:
        compact(cache, 3, keep, 3, contiguous=False)
    assert seen.pairs and all(a == b for a, b in seen.pairs), seen.pairs
    assert cache.layers[0].keys[0, 0, :, 0].tolist() == [0, 1, 2, 3, 5, 7]
    assert cache.layers[0].values[0, 1, :, 0].tolist() == [0, 1, 2, 3, 5, 7]
    assert cache.layers[1].keys.device.type == "meta" and cache.layers[1].keys.shape[-2] == 6


# ----- a matrix that lasts ----------------------------------------------------------------------


def test_saved_matrix_hot_starts_exactly_like_the_one_in_memory(tmp_path):
    model, tok = make_tiny("llama"), TinyTokenizer()
    warm = None
    for p in PROMPTS[:2]:
        warm = trviz.generate(
            model, tok, p, 32, config={"tree": TREE}, matrix=warm, record="none"
        ).matrix
    assert {"model", "k", "created"} <= set(warm.meta) and warm.meta["k"] == 8
    path = warm.save(tmp_path / "m.pt")

    loaded = load_matrix(path, fingerprint=warm.fingerprint)
    assert loaded.steps_seen == warm.steps_seen > 0
    assert loaded.meta == warm.meta
    in_memory = trviz.generate(model, tok, PROMPTS[2], 48, config={"tree": TREE}, matrix=warm)
    from_disk = trviz.generate(model, tok, PROMPTS[2], 48, config={"tree": TREE}, matrix=loaded)
    assert from_disk.tokens == in_memory.tokens
    assert [s.accepted for s in from_disk.trace] == [s.accepted for s in in_memory.trace]
    assert torch.equal(from_disk.matrix.table, in_memory.matrix.table)
    assert from_disk.matrix.steps_seen == warm.steps_seen + from_disk.stats.steps
    assert from_disk.matrix.meta["created"] == warm.meta["created"]  # a hot start keeps it

    cold = trviz.generate(model, tok, PROMPTS[2], 48, config={"tree": TREE})
    assert cold.tokens == in_memory.tokens  # lossless either way
    with pytest.raises(MatrixError, match="another tokenizer"):
        load_matrix(path, fingerprint="0" * 64)


# ----- real devices (skipped without CUDA) ------------------------------------------------------


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs CUDA")
def test_gpu_with_cpu_offloaded_layer_decodes_exactly():
    from accelerate import dispatch_model

    model, tok = make_tiny("llama"), TinyTokenizer()
    device_map = {
        "model.embed_tokens": 0,
        "model.rotary_emb": 0,
        "model.layers.0": 0,
        "model.layers.1": "cpu",
        "model.norm": 0,
        "lm_head": 0,
    }
    assert_tr_equals_greedy(dispatch_model(model, device_map), tok)


@pytest.mark.gpu
@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs two CUDA devices")
def test_model_split_across_two_gpus_decodes_exactly():
    from accelerate import dispatch_model

    model, tok = make_tiny("llama"), TinyTokenizer()
    device_map = {
        "model.embed_tokens": 0,
        "model.rotary_emb": 0,
        "model.layers.0": 0,
        "model.layers.1": 1,
        "model.norm": 1,
        "lm_head": 1,
    }
    model = dispatch_model(model, device_map)
    assert_tr_equals_greedy(model, tok)
    cache_devices = {layer.keys.device for layer in _last_cache(model, tok).layers}
    assert len(cache_devices) == 2


def _last_cache(model, tok):
    """The cache of a short TR run, captured from the forward calls."""
    seen = []
    hook = model.register_forward_pre_hook(
        lambda mod, args, kwargs: seen.append(kwargs.get("cache")), with_kwargs=True
    )
    try:
        trviz.generate(model, tok, PROMPTS[0], 8, config={"tree": TREE})
    finally:
        hook.remove()
    return seen[-1]
