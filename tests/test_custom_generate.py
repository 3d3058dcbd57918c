"""Token Recycling from ``model.generate(custom_generate=...)``: the callable and the folder.

The oracle is ``model.generate`` itself: with the entry, greedy fp32 output equals Hugging Face's
greedy search token for token (tiny models of three architectures here; SmolLM2 when slow),
stop strings and other criteria end it at the same token, streamers receive exactly the text,
sampling passes test_sampling's chi-square test, and what the entry cannot honour is refused.
"""

from __future__ import annotations

from pathlib import Path
from threading import Thread

import pytest
import torch
from test_sampling import ALPHA, N_TOKENS, PARAMS, PROMPT, TREE, V, draw
from test_sampling import exact_distribution as exact_first_tokens
from tiny_models import TINY_ARCHS, make_tiny
from transformers import (
    GenerationConfig,
    StopStringCriteria,
    TextIteratorStreamer,
    TextStreamer,
)
from transformers.generation.streamers import BaseStreamer
from transformers.generation.utils import GenerateDecoderOnlyOutput

import trviz
from tr_notebooks.stats import chi_square
from trviz.errors import ConfigError
from trviz.sampling import SamplingParams

PROMPTS = [[9], [5, 17, 33, 5, 17, 60, 7], list(range(10, 40)), [4, 4, 4, 4], [70, 71, 72]]
FOLDER = dict(custom_generate=trviz.custom_generate_dir(), trust_remote_code=True)
CALLABLE = dict(custom_generate=trviz.custom_generate)


def word_tokenizer(vocab: int = 96):
    """A real (fast) Hugging Face tokenizer over the tiny models' ids: token ``i`` is the word
    ``t<i>``; ``abcdef`` (the last id) is the word StopStringCriteria uses to read the vocab."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    words = {f"t{i}": i for i in range(vocab - 1)} | {"abcdef": vocab - 1}
    core = Tokenizer(models.WordLevel(words, unk_token="t0"))
    core.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    core.decoder = decoders.WordPiece()  # words joined by spaces
    return PreTrainedTokenizerFast(
        tokenizer_object=core, bos_token="t1", eos_token="t2", pad_token="t2"
    )


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny models run fastest on one thread (and do not spin against other work); restored."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="module")
def llama():
    return make_tiny("llama")


@pytest.fixture(scope="module")
def tok():
    return word_tokenizer()


def hf_and_tr(model, ids: torch.Tensor, entry: dict, **kwargs) -> tuple[torch.Tensor, torch.Tensor]:
    """(Hugging Face's greedy search, the entry's) output for the same call."""
    return model.generate(ids, **kwargs), model.generate(ids, **entry, **kwargs)


class Recorder(BaseStreamer):
    """Keeps every ``put`` and counts ``end`` calls."""

    def __init__(self):
        self.puts: list[list[int]] = []
        self.ends = 0

    def put(self, value):
        self.puts.append(value.reshape(-1).tolist())

    def end(self):
        self.ends += 1


# ----- greedy: equal to model.generate, token for token -----------------------------------------


@pytest.mark.parametrize("arch", TINY_ARCHS)
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_tiny_models_equal_hf_greedy_hot_and_cold(arch, attn):
    model, matrix = make_tiny(arch, attn), None
    for p in PROMPTS:
        ids = torch.tensor([p])
        for n in (1, 40):
            want = model.generate(ids, max_new_tokens=n, do_sample=False)
            out = model.generate(
                ids, **CALLABLE, max_new_tokens=n, do_sample=False, config={"tree": "tr-12"},
                matrix=matrix, return_dict_in_generate=True,
            )  # fmt: skip
            assert torch.equal(out.sequences, want), (arch, attn, p, n)
            matrix = out.trviz.matrix
    assert out.trviz.stats.mat > 1, "hot start never accepted a draft: the test is vacuous"


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_an_eos_inside_the_budget_ends_the_run_where_hf_does(arch):
    """The EOS is ``eos_token_id``'s list: the model's own EOS plus a token the output holds."""
    model = make_tiny(arch)
    for p in PROMPTS:
        ids = torch.tensor([p])
        free = model.generate(ids, max_new_tokens=40, do_sample=False)[0, len(p) :].tolist()
        stop = free[len(free) // 2]
        want, got = hf_and_tr(model, ids, CALLABLE, max_new_tokens=40, eos_token_id=[2, stop])
        assert torch.equal(got, want), (arch, p)
        assert got.shape[1] - len(p) < 40 and got[0, -1].item() in (2, stop)


def test_eos_token_id_replaces_the_model_s_eos(llama):
    """generate stops only at the EOS ids it is given; so does the entry (trviz.generate alone
    would stop at the model's EOS, 2, at new token 40 here)."""
    ids = torch.tensor([[5, 17, 33, 5, 17, 60, 7]])
    assert llama.generate(ids, max_new_tokens=60)[0, -1].item() == 2
    want, got = hf_and_tr(llama, ids, CALLABLE, max_new_tokens=60, eos_token_id=95)
    assert torch.equal(got, want)
    assert got.shape[1] == ids.shape[1] + 60 and 2 in got[0, ids.shape[1] :].tolist()


def test_the_default_budget_is_generate_s(llama):
    ids = torch.tensor([PROMPTS[2]])
    want, got = hf_and_tr(llama, ids, CALLABLE)  # max_length 20 + prompt, from GenerationConfig
    assert torch.equal(got, want) and got.shape[1] == ids.shape[1] + 20


def test_return_dict_carries_sequences_and_the_trviz_result(llama):
    ids = torch.tensor([PROMPTS[0]])
    seen = []
    out = llama.generate(
        ids, **CALLABLE, max_new_tokens=30, return_dict_in_generate=True, config="paper",
        on_step=seen.append, record="summary",
    )  # fmt: skip
    assert isinstance(out, GenerateDecoderOnlyOutput)
    assert torch.equal(out.sequences, llama.generate(ids, max_new_tokens=30))
    assert out.scores is None and out.logits is None and out.cache is None
    r = out.trviz
    assert r.tokens == out.sequences[0, 1:].tolist() and r.finish_reason == "length"
    assert r.config == trviz.TRConfig.preset("paper") and r.text == ""  # no tokenizer: no text
    assert [t for s in seen for t in s.committed] == r.tokens == r.trace.meta["new_tokens"]
    plain = llama.generate(ids, **CALLABLE, max_new_tokens=30)
    assert isinstance(plain, torch.Tensor) and torch.equal(plain, out.sequences)


def test_trviz_generate_stopping_replaces_the_eos_rule(llama):
    """The engine capability the entry rests on: ``stopping`` sees each step's tokens and cuts."""
    p = [5, 17, 33, 5, 17, 60, 7]
    greedy = trviz.greedy(llama, None, p, 60).tokens  # ends at its EOS, token 40
    assert greedy[-1] == 2 and len(greedy) == 40
    steps: list[list[int]] = []

    def cut_after_five(tokens):
        steps.append(tokens)
        seen = sum(map(len, steps))
        return None if seen < 5 else len(tokens) - (seen - 5)

    r = trviz.generate(llama, None, p, 60, config={"tree": "tr-12"}, stopping=cut_after_five)
    assert r.tokens == greedy[:5] and r.finish_reason == "stop"
    r = trviz.generate(llama, None, p, 60, config={"tree": "tr-12"}, stopping=lambda t: None)
    assert r.tokens[:40] == greedy and len(r.tokens) == 60 and r.finish_reason == "length"
    with pytest.raises(ConfigError, match="stopping must return None or 1"):
        trviz.generate(llama, None, p, 8, stopping=lambda t: 0)


# ----- stop strings and stopping criteria -------------------------------------------------------


def test_stop_strings_end_where_hf_ends(llama, tok):
    for p in PROMPTS[:3]:
        ids = torch.tensor([p])
        free = llama.generate(ids, max_new_tokens=40)[0, len(p) :].tolist()
        stop = tok.decode(free[6:8])  # two words: may end inside a step, across tokens
        want = llama.generate(ids, max_new_tokens=40, stop_strings=[stop], tokenizer=tok)
        folder = llama.generate(ids, **FOLDER, max_new_tokens=40, stop_strings=stop, tokenizer=tok)
        in_config = llama.generate(
            ids, **FOLDER, generation_config=GenerationConfig(max_new_tokens=40, stop_strings=stop),
            tokenizer=tok,
        )  # fmt: skip
        criterion = llama.generate(
            ids, **CALLABLE, max_new_tokens=40, stopping_criteria=[StopStringCriteria(tok, [stop])]
        )
        assert want.shape[1] <= len(p) + 8
        for got in (folder, in_config, criterion):
            assert torch.equal(got, want), (p, stop)


def test_a_custom_criterion_stops_at_the_same_token(llama):
    def after_a_repeat(input_ids, scores, **kwargs):
        return torch.tensor([input_ids.shape[1] > 3 and input_ids[0, -1] in input_ids[0, -4:-1]])

    for p in PROMPTS:
        ids = torch.tensor([p])
        want, got = hf_and_tr(llama, ids, CALLABLE, max_new_tokens=40,
                              stopping_criteria=[after_a_repeat])  # fmt: skip
        assert torch.equal(got, want), p


# ----- streamers --------------------------------------------------------------------------------


@pytest.mark.parametrize("entry", [CALLABLE, FOLDER], ids=["callable", "folder"])
def test_streamers_receive_exactly_the_generated_text(llama, tok, entry, capsys):
    ids = torch.tensor([PROMPTS[1]])
    hot = llama.generate(ids, **CALLABLE, max_new_tokens=40, return_dict_in_generate=True)
    rec, it, printer = Recorder(), TextIteratorStreamer(tok, skip_prompt=True), TextStreamer(tok)
    runs = [
        llama.generate(ids, **entry, max_new_tokens=40, streamer=s, matrix=hot.trviz.matrix)
        for s in (rec, it, printer)
    ]
    new = runs[0][0, ids.shape[1] :].tolist()
    assert all(torch.equal(r, hot.sequences) for r in runs)
    assert rec.puts[0] == PROMPTS[1] and rec.ends == 1  # the prompt first, as generate puts it
    assert sum(rec.puts[1:], []) == new
    assert max(map(len, rec.puts[1:])) > 1  # several tokens per step, as each step accepts them
    assert "".join(it) == tok.decode(new)
    assert capsys.readouterr().out == tok.decode(PROMPTS[1] + new) + "\n"


def test_a_text_iterator_streamer_is_read_while_the_entry_generates(llama, tok):
    ids = torch.tensor([PROMPTS[2]])
    want = llama.generate(ids, max_new_tokens=40)[0, ids.shape[1] :]
    stream = TextIteratorStreamer(tok, skip_prompt=True, timeout=120)
    kwargs = dict(**CALLABLE, max_new_tokens=40, streamer=stream)
    job = Thread(target=llama.generate, args=(ids,), kwargs=kwargs)
    job.start()
    text = "".join(stream)  # the usual pattern: generate in a thread, read here
    job.join()
    assert text == tok.decode(want)


def test_a_refused_call_still_ends_the_streamer(llama):
    rec = Recorder()
    with pytest.raises(ConfigError):
        llama.generate(torch.tensor([[5, 6]]), **CALLABLE, repetition_penalty=1.3, streamer=rec)
    assert rec.ends == 1  # a TextIteratorStreamer's reader is released


# ----- sampling ---------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def sampler():
    """test_sampling's tiny model, and a matrix warmed through the entry on other prompts."""
    model = make_tiny("llama", vocab=V)
    matrix = None
    for p in ([5, 7, 3], [9, 4], [11, 12, 13], [6]):
        out = model.generate(
            torch.tensor([p]), **CALLABLE, max_new_tokens=24, config={"tree": TREE},
            matrix=matrix, return_dict_in_generate=True,
        )  # fmt: skip
        matrix = out.trviz.matrix
    return model, matrix


@pytest.mark.parametrize("kw", PARAMS)
def test_sampling_through_the_entry_matches_the_exact_distribution(sampler, kw):
    model, matrix = sampler
    exact = exact_first_tokens(model, SamplingParams(**kw))

    def run(seed):
        torch.manual_seed(seed)  # the entry draws its seed from torch's global generator
        return model.generate(
            torch.tensor([PROMPT]),
            **CALLABLE,
            max_new_tokens=N_TOKENS,
            do_sample=True,
            config={"tree": TREE},
            matrix=matrix,
            return_dict_in_generate=True,
            **kw,
        ).trviz  # fmt: skip  (generate's default top_k=50 keeps all of V=16, as exact assumes)

    counts, mat = draw(run, 2000)
    assert mat > 1.2, f"drafts were rarely accepted (MAT {mat:.2f}): the test would be vacuous"
    stat, p, df = chi_square(counts, exact)
    assert p > ALPHA, f"sampling deviates from plain sampling: chi2={stat:.1f}, df={df}, p={p:g}"


def test_sampling_takes_generate_s_warpers_and_torch_s_seed(llama):
    ids = torch.tensor([PROMPTS[0]])
    kw = dict(**CALLABLE, max_new_tokens=12, do_sample=True, temperature=0.7, top_p=0.9,
              return_dict_in_generate=True)  # fmt: skip
    torch.manual_seed(3)
    a = llama.generate(ids, **kw).trviz
    torch.manual_seed(3)
    b = llama.generate(ids, **kw, record="summary").trviz
    assert a.tokens == b.tokens
    got = b.trace.meta["sampling"]
    assert (got["temperature"], got["top_k"], got["top_p"]) == (0.7, 50, 0.9)  # 50: the default
    greedy = llama.generate(ids, **kw | {"do_sample": False})  # warpers cannot move an argmax
    assert torch.equal(greedy.sequences, llama.generate(ids, max_new_tokens=12))


# ----- refused settings -------------------------------------------------------------------------


REFUSED = [
    (dict(input_ids=torch.tensor([[5, 6], [7, 8]])), "a batch of 2 sequences"),
    (dict(num_beams=3), r"beam search \(num_beams=3\)"),
    (dict(do_sample=True, num_return_sequences=2), "num_return_sequences=2"),
    (dict(attention_mask=torch.tensor([[0, 1]])), "an attention mask with padding"),
    (dict(repetition_penalty=1.3), "the logits processor RepetitionPenaltyLogitsProcessor"),
    (dict(min_new_tokens=4), "the logits processor MinLengthLogitsProcessor"),
    (dict(prompt_lookup_num_tokens=3), "assisted generation"),
    (dict(penalty_alpha=0.6, top_k=4), "contrastive search"),
    (dict(return_dict_in_generate=True, output_scores=True), "output_scores"),
    (dict(cache_implementation="static"), "cache_implementation='static'"),
    (dict(stop_strings=["t5"]), "stop_strings without a tokenizer"),
    (dict(inputs_embeds=torch.zeros(1, 2, 32)), r"extra model inputs \['inputs_embeds'\]"),
]


@pytest.mark.parametrize("kwargs, message", REFUSED, ids=[m for _, m in REFUSED])
def test_unsupported_settings_are_refused_with_what_is_supported(llama, kwargs, message):
    kwargs = {"input_ids": torch.tensor([[5, 6]]), **kwargs}
    with pytest.raises(ConfigError, match=message) as err:
        llama.generate(**CALLABLE, max_new_tokens=4, **kwargs)
    assert "supports one sequence (batch size 1, no padding)" in str(err.value)


def test_an_assistant_model_is_refused(llama):
    with pytest.raises(ConfigError, match="assisted generation"):
        llama.generate(torch.tensor([[5, 6]]), **CALLABLE, assistant_model=make_tiny("llama"))


def test_a_full_attention_mask_is_fine(llama):
    ids = torch.tensor([PROMPTS[1]])
    want, got = hf_and_tr(llama, ids, CALLABLE, attention_mask=torch.ones_like(ids))
    assert torch.equal(got, want)


# ----- the folder form --------------------------------------------------------------------------


def test_the_folder_is_a_hub_custom_generate_repo_shipped_in_the_package():
    folder = trviz.custom_generate_dir()
    assert isinstance(folder, str)  # generate treats only a str as a repo or folder
    assert (Path(folder) / "custom_generate" / "generate.py").is_file()
    assert (Path(folder) / "custom_generate" / "requirements.txt").read_text().split() == ["trviz"]
    assert Path(folder).parent == Path(trviz.__file__).parent


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_the_folder_form_equals_hf_greedy(arch):
    model = make_tiny(arch)
    for p in PROMPTS[:3]:
        ids = torch.tensor([p])
        want, got = hf_and_tr(model, ids, FOLDER, max_new_tokens=30)
        assert torch.equal(got, want), (arch, p)
    out = model.generate(ids, **FOLDER, max_new_tokens=30, return_dict_in_generate=True)
    assert torch.equal(out.sequences, want) and out.trviz.method == "tr"


def test_the_folder_form_needs_trust_remote_code(llama):
    with pytest.raises(ValueError, match="trust_remote_code"):
        llama.generate(torch.tensor([[5, 6]]), custom_generate=trviz.custom_generate_dir())


def test_the_folder_form_with_a_tokenizer_gives_text(llama, tok):
    ids = torch.tensor([PROMPTS[0]])
    out = llama.generate(ids, **FOLDER, max_new_tokens=10, tokenizer=tok,
                         return_dict_in_generate=True, record="summary")  # fmt: skip
    assert out.trviz.text == tok.decode(out.sequences[0, 1:], skip_special_tokens=True) != ""
    first = out.sequences[0, 1].item()
    assert out.trviz.trace.token_str(first) == tok.decode([first])  # the views show words


# ----- SmolLM2 ----------------------------------------------------------------------------------

SMOLLM_PROMPTS = [
    "What is the capital of France? Answer in one sentence.",  # ends with <|im_end|> early
    "Write a Python function that returns the n-th Fibonacci number.",
    "Repeat the word 'hello' twenty times, separated by spaces.",
]


@pytest.mark.slow
def test_smollm_equals_hf_greedy(smollm):
    model, tok = smollm
    matrix, ended_early, tokens, steps = None, 0, 0, 0
    for text in SMOLLM_PROMPTS:
        ids = torch.tensor([trviz.model.encode_prompt(tok, text)])
        for n in (1, 48):
            want = model.generate(ids, max_new_tokens=n, do_sample=False)
            out = model.generate(ids, **CALLABLE, max_new_tokens=n, do_sample=False,
                                 matrix=matrix, return_dict_in_generate=True)  # fmt: skip
            assert torch.equal(out.sequences, want), (text, n)
            matrix = out.trviz.matrix
        ended_early += want.shape[1] - ids.shape[1] < 48
        tokens, steps = tokens + out.trviz.stats.new_tokens, steps + out.trviz.stats.steps
    assert ended_early, "no prompt ended at its EOS inside the budget"
    assert tokens / steps > 1.2, "drafts were rarely accepted: the comparison would be vacuous"


@pytest.mark.slow
def test_smollm_folder_form_streams_and_stops_like_hf(smollm):
    model, tok = smollm
    ids = torch.tensor([trviz.model.encode_prompt(tok, SMOLLM_PROMPTS[1])])
    free = model.generate(ids, max_new_tokens=40)[0, ids.shape[1] :]
    stop = tok.decode(free[24:26])  # may end inside a step and inside a token
    stream = TextIteratorStreamer(tok, skip_prompt=True, skip_special_tokens=True)
    kw = dict(max_new_tokens=40, stop_strings=[stop], tokenizer=tok)
    want = model.generate(ids, **kw)
    got = model.generate(ids, **FOLDER, streamer=stream, **kw)
    assert torch.equal(got, want), repr(stop)
    assert want.shape[1] - ids.shape[1] <= 26  # the stop string ended it
    assert "".join(stream) == tok.decode(got[0, ids.shape[1] :], skip_special_tokens=True)
