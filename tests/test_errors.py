"""Bad inputs at the API edge: each gets a clear, typed error (a ``TrvizError``), checked before
any model work, and leaves no partial files. The catalog of issue 14, library part.

Files (matrix, trace) are in test_errors_files.py, the default-model cache and ``load_model`` in
test_errors_cache.py, the command line in test_errors_cli.py.
"""

from __future__ import annotations

import math
import os
import warnings

import pytest
import torch
from tiny_models import TinyTokenizer, make_tiny

import trviz
from trviz import (
    ConfigError,
    MatrixError,
    ModelLoadError,
    PromptError,
    TemplateError,
    TrvizError,
)
from trviz.matrix import load_matrix, new_matrix
from trviz.sampling import SamplingParams, choose, process, sampling_params

VOCAB = 96  # the tiny models' vocabulary


@pytest.fixture(scope="module")
def tiny():
    return make_tiny("llama"), TinyTokenizer()


@pytest.fixture
def no_forward(tiny, monkeypatch):
    """Fail the test if anything runs the model: bad input must be refused before any work."""
    model, _ = tiny

    def forbidden(*a, **k):
        raise AssertionError("the model ran before the input was checked")

    monkeypatch.setattr(model, "forward", forbidden)
    return model


# ----- prompts ----------------------------------------------------------------------------------


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


@pytest.mark.parametrize(
    "prompt, message",
    [
        ([5, 96], r"token id 96 .*vocabulary of 96"),  # one past the last id
        ([5, -1], r"token id -1"),
        ([5, 10**12], r"token id 1000000000000"),
        ([5, True], r"token ids must be ints"),
        ([5, 2.0], r"token ids must be ints"),
        ([5, "6"], r"a prompt list holds token ids \(ints\) or chat messages"),
        ([{"role": "user"}], r"message 0 .*'content'"),
        ([{"role": "user", "content": 3}], r"message 0 .*'content'"),
        (42, r"a prompt is a string"),
        (None, r"a prompt is a string"),
        (b"bytes", r"a prompt is a string"),
        (torch.tensor([[5, 6]]), r"1-D"),
    ],
)
def test_bad_prompts_are_refused_before_any_forward(tiny, no_forward, prompt, message):
    model, tok = tiny
    for decode in (trviz.generate, trviz.greedy):
        with pytest.raises(PromptError, match=message):
            decode(model, tok, prompt, 8)


def test_a_1d_tensor_of_ids_is_a_prompt(tiny):
    model, tok = tiny
    want = trviz.greedy(model, tok, [5, 6, 7], 6).tokens
    assert trviz.greedy(model, tok, torch.tensor([5, 6, 7]), 6).tokens == want


def test_chat_messages_without_a_chat_template(tiny, no_forward):
    model, tok = tiny
    with pytest.raises(PromptError, match="chat template"):
        trviz.generate(model, tok, [{"role": "user", "content": "hi"}], 8)


# ----- numbers and switches -------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, -3, 2.5, True, "8", None, float("nan")])
def test_max_new_tokens_must_be_a_positive_int(tiny, no_forward, n):
    model, tok = tiny
    with pytest.raises(ConfigError, match="max_new_tokens"):
        trviz.generate(model, tok, [5, 6], n)
    with pytest.raises(ConfigError, match="max_new_tokens"):
        trviz.greedy(model, tok, [5, 6], n)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(record="verbose"), "record must be one of"),
        (dict(on_step="print"), "on_step must be callable"),
        (dict(chat="yes"), "chat must be True, False or None"),
        (dict(matrix=torch.zeros(96, 8)), "matrix must be a trviz Matrix"),
    ],
)
def test_other_keywords_are_checked(tiny, no_forward, kwargs, message):
    model, tok = tiny
    with pytest.raises(TrvizError, match=message):
        trviz.generate(model, tok, [5, 6], 8, **kwargs)


# ----- configs and trees ------------------------------------------------------------------------


def test_invalid_template(tiny):
    model, tok = tiny
    with pytest.raises(TemplateError, match="prefix-closed"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": [(0,), (1, 0, 0)]})
    with pytest.raises(TemplateError, match="k >= 9"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": [(8,)], "k": 8})


@pytest.mark.parametrize(
    "config, error, message",
    [
        ({"lookup": "5"}, ConfigError, "lookup must be an int >= 0"),
        ({"lookup": 2.5}, ConfigError, "lookup must be an int >= 0"),
        ({"lookup": -1}, ConfigError, "lookup must be an int >= 0"),
        ({"lookup_ngram": 0}, ConfigError, "lookup_ngram must be a positive int"),
        ({"lookup_ngram": None}, ConfigError, "lookup_ngram must be a positive int"),
        ({"k": True}, ConfigError, "k must be a positive int"),
        ({"k": 8.0}, ConfigError, "k must be a positive int"),
        ({"dedupe": "no"}, ConfigError, "dedupe must be True or False"),
        ({"seed_from_prompt": 1}, ConfigError, "seed_from_prompt must be True or False"),
        ({"sampling_verify": "fast"}, ConfigError, "sampling_verify must be one of"),
        ({"name": 3}, ConfigError, "name must be a string"),
        ({"tree": 5}, TemplateError, "a tree is a preset name"),
        ({"tree": {"parents": [-1]}}, TemplateError, "a tree is a preset name"),
        ({"tree": [(0,), ("a",)]}, TemplateError, "path 1 .*ints"),
        ({"tree": [0, 1]}, TemplateError, "path 0 .*list of child ranks"),
        ({"tree": "tr-9000"}, TemplateError, "unknown tree"),
        ({"tree": "auto-0"}, TemplateError, "n_nodes must be in 1..4096"),
        ({"tree": "auto-99999"}, TemplateError, "n_nodes must be in 1..4096"),
    ],
)
def test_bad_configs_are_typed(tiny, no_forward, config, error, message):
    model, tok = tiny
    with pytest.raises(error, match=message):
        trviz.TRConfig(**config)
    with pytest.raises(error, match=message):
        trviz.generate(model, tok, [5, 6], 8, config=config)


def test_config_of_a_wrong_type():
    from trviz.config import as_config

    with pytest.raises(ConfigError, match="unknown config field 'treee'; fields: tree, k"):
        as_config({"treee": "tr-8"})

    with pytest.raises(ConfigError, match="config must be a TRConfig"):
        as_config(["tree", "tr-8"])
    with pytest.raises(ConfigError, match="unknown config preset"):
        trviz.TRConfig.preset("fast")
    with pytest.raises(ConfigError, match="unknown config preset"):
        as_config("fast")


def test_tree_class_checks_its_arrays():
    with pytest.raises(TemplateError, match="parents and ranks must be tuples of ints"):
        trviz.Tree(parents=(-1, "0"), ranks=(0, 0))
    with pytest.raises(TemplateError, match="parents and ranks must be tuples of ints"):
        trviz.Tree(parents=None, ranks=None)


# ----- k and the matrix -------------------------------------------------------------------------


def test_k_larger_than_vocabulary(tiny):
    model, tok = tiny
    with pytest.raises(ConfigError, match="larger than the vocabulary"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": "chain-4", "k": 500})
    with pytest.raises(ConfigError):
        trviz.TRConfig(k=0)


def test_a_huge_matrix_is_refused_before_allocating(monkeypatch):
    def no_alloc(*a, **k):
        raise AssertionError("allocated")

    monkeypatch.setattr(torch, "full", no_alloc)
    with pytest.raises(ConfigError, match=r"k=49152 .*9\.7 GB.*smaller k"):
        new_matrix(49_152, 49_152)


def test_a_large_k_warns():
    with pytest.warns(UserWarning, match=r"k=4096 .*805 MB"):
        m = new_matrix(49_152, 4096)
    assert m.k == 4096
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        new_matrix(49_152, 8)  # the paper's k: silent


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


def test_a_matrix_with_ids_out_of_range_is_refused(tiny, no_forward):
    model, tok = tiny
    m = new_matrix(VOCAB, 8)
    m.table[3, 0] = VOCAB  # an id the model does not have: would index past the table
    with pytest.raises(MatrixError, match=r"ids outside -1\.\.95"):
        trviz.generate(model, tok, [5, 6], 8, config={"tree": "chain-4"}, matrix=m)


def test_matrix_save_is_atomic(tmp_path, monkeypatch):
    m = new_matrix(96, 4)

    def boom(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", boom)
    with pytest.raises(OSError):
        m.save(tmp_path / "m.pt")
    assert list(tmp_path.iterdir()) == []


# ----- sampling parameters ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(temperature=0.7, seed=2**70), r"seed must be an int in 0\.\.2\*\*64-1"),
        (dict(temperature=0.7, seed=-1), "seed must be"),
        (dict(temperature=0.7, seed=1.5), "seed must be"),
        (dict(seed=2**70), "seed must be"),  # checked even for greedy
        (dict(temperature="0.7"), "temperature must be"),
        (dict(temperature=True), "temperature must be"),
        (dict(temperature=-0.5), "temperature must be"),
        (dict(temperature=float("inf")), "temperature must be"),
        (dict(temperature=float("nan")), "temperature must be"),
        (dict(temperature=0.7, top_p=float("nan")), "top_p must be"),
        (dict(temperature=0.7, top_k=True), "top_k must be"),
        (dict(top_k=5), "need a temperature"),
    ],
)
def test_bad_sampling_parameters_are_refused(tiny, no_forward, kwargs, message):
    model, tok = tiny
    for decode in (trviz.generate, trviz.greedy):
        with pytest.raises(ConfigError, match=message):
            decode(model, tok, [5, 6], 8, **kwargs)


def test_the_largest_seed_works():
    assert sampling_params(0.7, seed=2**64 - 1).seed == 2**64 - 1


@pytest.mark.parametrize("t", [1e-45, 1e-40, 1e-30, 1e-8, 1e8, 1e30, 1e300])
def test_extreme_temperatures_give_a_distribution(t):
    torch.manual_seed(0)
    logits = torch.randn(4, 50) * 5
    probs = process(logits, SamplingParams(t, None, None, 0))
    assert torch.isfinite(probs).all()
    torch.testing.assert_close(probs.sum(-1), torch.ones(4))
    if t < 1e-6:  # the limit is the argmax
        argmax = torch.nn.functional.one_hot(logits.argmax(-1), 50).float()
        torch.testing.assert_close(probs, argmax)
    if t > 1e6:  # the limit is uniform
        torch.testing.assert_close(probs, torch.full((4, 50), 1 / 50))


def test_a_tiny_temperature_splits_ties_evenly():
    logits = torch.tensor([[1.0, 3.0, 3.0, -2.0]])
    probs = process(logits, SamplingParams(1e-40, None, None, 0))
    torch.testing.assert_close(probs, torch.tensor([[0.0, 0.5, 0.5, 0.0]]))
    picks = {int(choose(logits, SamplingParams(1e-40, seed=0), torch.Generator().manual_seed(s)))
             for s in range(40)}  # fmt: skip
    assert picks == {1, 2}


def test_moderate_temperatures_are_unchanged():
    torch.manual_seed(1)
    logits = torch.randn(3, 40) * 3
    for t in (1e-3, 0.3, 0.7, 1.0, 2.5, 1e6):  # bit for bit as before (and as HF divides)
        want = (logits / t).softmax(-1)
        assert torch.equal(process(logits, SamplingParams(t, None, None, 0)), want)


@pytest.mark.parametrize("t", [1e-40, 1e-300])
def test_a_tiny_temperature_samples_the_argmax(tiny, t):
    """Issue 14: temperature=1e-40 used to give NaN probabilities and emit token 0 every step."""
    model, tok = tiny
    want = trviz.greedy(model, tok, [5, 6, 7], 24).tokens
    plain = trviz.greedy(model, tok, [5, 6, 7], 24, temperature=t, seed=0)
    tr = trviz.generate(model, tok, [5, 6, 7], 24, config={"tree": "tr-8"}, temperature=t, seed=0)
    assert plain.tokens == want
    assert tr.tokens == want
    assert set(want) != {0}


def test_a_huge_temperature_samples_every_token(tiny):
    model, tok = tiny
    r = trviz.greedy(model, tok, [5, 6, 7], 200, temperature=1e30, seed=0)
    assert len(set(r.tokens)) > 40  # near uniform over 96 ids, never NaN -> token 0
    assert not math.isnan(r.stats.mat)


# ----- models -----------------------------------------------------------------------------------


def test_unknown_model_offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(ModelLoadError, match="Hugging Face Hub is disabled"):
        trviz.load_model("no-such-org/no-such-model-xyz")


def test_unknown_config_preset():
    with pytest.raises(ConfigError, match="unknown config preset"):
        trviz.TRConfig.preset("fast")


# ----- the benchmark's inputs -------------------------------------------------------------------


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(per_category=0), "per_category must be a positive int, got 0"),
        (dict(per_category=-2), "per_category must be a positive int"),
        (dict(limit=0), "limit must be a positive int, got 0"),
        (dict(limit=-1), "limit must be a positive int"),
        (dict(limit=1.5), "limit must be a positive int"),
    ],
)
def test_selecting_zero_or_negative_questions_is_refused(kwargs, message):
    from trviz.bench.suite import builtin_suite, select

    with pytest.raises(ConfigError, match=message):
        select(builtin_suite(1), **kwargs)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(questions=[]), "no questions to benchmark"),
        (dict(max_new_tokens=0), "max_new_tokens must be a positive int, got 0"),
        (dict(max_new_tokens=-5), "max_new_tokens must be a positive int"),
        (dict(repeats=0), "repeats must be a positive int"),
        (dict(methods=["nope"]), "unknown method 'nope'"),
    ],
)
def test_run_bench_checks_before_the_warm_up(tiny, no_forward, kwargs, message):
    from trviz.bench.runner import run_bench
    from trviz.bench.suite import builtin_suite

    model, tok = tiny
    kwargs = {"questions": builtin_suite(1)[:1], "progress": False, **kwargs}
    with pytest.raises(ConfigError, match=message):
        run_bench(model, tok, **kwargs)


def test_prompt_files_that_are_not_text(tmp_path):
    from trviz.bench.suite import load_prompts

    path = tmp_path / "latin1.jsonl"
    path.write_bytes('{"prompt": "caf\xe9"}\n'.encode("latin-1"))
    with pytest.raises(PromptError, match="is not UTF-8 text .* save it as UTF-8"):
        load_prompts(path)
    with pytest.raises(PromptError, match="cannot read prompt file .*No such file"):
        load_prompts(tmp_path / "missing.jsonl")
    if os.path.exists("/dev/zero"):
        with pytest.raises(PromptError, match="not a regular file"):
            load_prompts("/dev/zero")
