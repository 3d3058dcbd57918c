"""Lossless sampling: TR under temperature/top-k/top-p is distributed exactly as plain sampling.

The statistical test enumerates the true distribution of the first three generated tokens from
the tiny model's own probabilities, then compares thousands of seeded TR generations against it
with a chi-square goodness-of-fit test (alpha = 1e-3). A deliberately biased verifier must fail
the same test, so the test can fail. Both forms of the verification run here: the host walk (what
CPU uses) and the parallel draw at every node (what accelerators use), forced on CPU.
"""

from __future__ import annotations

from collections import Counter

import pytest
import torch
from tiny_models import TinyTokenizer, make_tiny

import trviz
import trviz.sampling
import trviz.verify
from tr_notebooks.stats import chi_square
from trviz.cost import CostModel
from trviz.errors import ConfigError
from trviz.run import choose_tree
from trviz.sampling import (
    SamplingParams,
    choose,
    first_siblings,
    process,
    sampling_params,
    walk,
)
from trviz.text import tree_text

V = 16
PROMPT = [5, 7, 3]
N_TOKENS = 3
ALPHA = 1e-3
TREE = "tr-12"


@pytest.fixture(scope="module")
def tiny():
    torch.set_num_threads(1)
    return make_tiny("llama", vocab=V), TinyTokenizer(V)


@pytest.fixture(scope="module")
def hot(tiny):
    """A matrix warmed on other prompts, so the first steps draft real candidates."""
    model, tok = tiny
    matrix = None
    for p in ([5, 7, 3], [9, 4], [11, 12, 13], [6]):
        matrix = trviz.generate(
            model, tok, p, 24, config={"tree": TREE}, matrix=matrix, record="none"
        ).matrix
    return matrix


@pytest.fixture(params=["walk", "parallel"])
def verifier(request):
    """Which verification form runs: the host walk (CPU's own) or the parallel draw."""
    return request.param


# ----- the exact distribution of the first tokens -----------------------------------------------


@torch.no_grad()
def exact_distribution(model, params: SamplingParams, eos: int = 2) -> dict[tuple, float]:
    """P(first ``N_TOKENS`` tokens) under plain sampling, from full causal forwards (no cache);
    a sequence that emits EOS stops there."""
    dist = {(): 1.0}
    for _ in range(N_TOKENS):
        grow = [s for s in dist if not s or s[-1] != eos]
        done = {s: p for s, p in dist.items() if s and s[-1] == eos}
        ids = torch.tensor([PROMPT + list(s) for s in grow])
        probs = process(model(input_ids=ids).logits[:, -1], params).tolist()
        for s, row in zip(grow, probs, strict=True):
            for t, q in enumerate(row):
                if q > 0:
                    done[s + (t,)] = dist[s] * q
        dist = done
    return dist


def draw(fn, n: int, seed0: int = 0, **kwargs) -> tuple[Counter, float]:
    """Counts of the first tokens over ``n`` seeded generations, and tokens per forward."""
    counts: Counter = Counter()
    tokens = steps = 0
    for i in range(n):
        r = fn(seed=seed0 + i, **kwargs)
        counts[tuple(r.tokens)] += 1
        tokens += r.stats.new_tokens
        steps += r.stats.steps
    return counts, tokens / steps


PARAMS = [
    pytest.param(dict(temperature=1.0), id="t1.0"),
    pytest.param(dict(temperature=0.8, top_k=6, top_p=0.9), id="t0.8-topk6-topp0.9"),
]


@pytest.mark.parametrize("kw", PARAMS)
def test_tr_sampling_matches_the_exact_distribution(tiny, hot, verifier, kw):
    model, tok = tiny
    exact = exact_distribution(model, SamplingParams(**kw))
    counts, mat = draw(
        lambda seed: trviz.generate(
            model,
            tok,
            PROMPT,
            N_TOKENS,
            config={"tree": TREE, "sampling_verify": verifier},
            matrix=hot,
            record="none",
            seed=seed,
            **kw,
        ),
        3000,
    )
    assert mat > 1.2, f"drafts were rarely accepted (MAT {mat:.2f}): the test would be vacuous"
    stat, p, df = chi_square(counts, exact)
    assert p > ALPHA, f"TR sampling deviates from plain sampling: chi2={stat:.1f}, df={df}, p={p:g}"


def test_budget_sampling_matches_the_exact_distribution(tiny, hot, verifier, monkeypatch):
    """The per-step budget picks each step's tree from past steps only (its estimates, the
    matrix, the context), never from the step's own samples: sampling stays exact."""
    model, tok = tiny
    kw = dict(temperature=1.0)
    # each extra verified token costs 3% of a step: the budget keeps some nodes, prunes others
    gentle = CostModel((1, 64), (1,), ((1.0, 1.0 + 63 * 0.03),), source="test")
    monkeypatch.setattr(trviz.decode, "choose_cost", lambda model: gentle)
    cfg = {"tree": TREE, "budget": True, "copy": 4, "copy_branches": 2}
    exact = exact_distribution(model, SamplingParams(**kw))
    counts, mat = draw(
        lambda seed: trviz.generate(
            model,
            tok,
            PROMPT,
            N_TOKENS,
            config={**cfg, "sampling_verify": verifier},
            matrix=hot,
            record="none",
            seed=seed,
            **kw,
        ),
        3000,
    )
    assert mat > 1.2, f"drafts were rarely accepted (MAT {mat:.2f}): the test would be vacuous"
    stat, p, df = chi_square(counts, exact)
    assert p > ALPHA, f"budget sampling deviates: chi2={stat:.1f}, df={df}, p={p:g}"


def test_plain_sampling_matches_the_exact_distribution(tiny):
    model, tok = tiny
    kw = dict(temperature=0.8, top_k=6, top_p=0.9)
    exact = exact_distribution(model, SamplingParams(**kw))
    counts, _ = draw(
        lambda seed: trviz.greedy(model, tok, PROMPT, N_TOKENS, record="none", seed=seed, **kw),
        2000,
        seed0=10_000,
    )
    stat, p, df = chi_square(counts, exact)
    assert p > ALPHA, f"plain sampling deviates: chi2={stat:.1f}, df={df}, p={p:g}"


def accept_first_child(tokens, samples, tt):
    """A wrong verifier: trusts the drafter's top candidate (rank 0) as if it had been sampled."""
    correct = (tokens == samples[tt.parents]) | ((tt.ranks == 0) & (tokens >= 0))
    correct[0] = True
    bad = tt.ancestors_f @ (~correct).float()
    return torch.where(bad == 0, tt.depths, -1).argmax()


def choose_with_shared_noise(logits, params, generator):
    """A wrong sampler: one random draw shared by every node, so a node's sample is correlated
    with its parent's (each is right on its own; the walk is not)."""
    probs = process(logits, params)
    race = torch.empty(probs.shape[-1]).exponential_(generator=generator)  # [V], not [S, V]
    return (probs / race).argmax(-1)


def walk_trusting_first_child(tokens, logits, children, params, generator):
    """A wrong walk: moves to the first child without drawing when the drafter filled it."""
    samples, node = [-1] * len(tokens), 0
    while True:
        first = next((c for c in children[node] if tokens[c] >= 0), None)
        if first is None:
            samples[node] = int(choose(logits[node : node + 1], params, generator)[0])
            return node, samples
        samples[node], node = tokens[first], first


def walk_with_shared_noise(tokens, logits, children, params, generator):
    """A wrong walk: every node's draw replays the root's random numbers."""
    state = generator.get_state()

    def replay(*args):
        generator.set_state(state)
        return choose(*args)

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(trviz.sampling, "choose", replay)
        return walk(tokens, logits, children, params, generator)


@pytest.mark.parametrize(
    "form, name, bug",
    [
        ("parallel", "accept", accept_first_child),
        ("parallel", "choose", choose_with_shared_noise),
        ("walk", "walk", walk_trusting_first_child),
        ("walk", "walk", walk_with_shared_noise),
    ],
)
def test_a_biased_verifier_is_caught(tiny, hot, monkeypatch, form, name, bug):
    model, tok = tiny
    kw = dict(temperature=1.0)
    exact = exact_distribution(model, SamplingParams(**kw))
    monkeypatch.setattr(trviz.verify, name, bug)
    counts, _ = draw(
        lambda seed: trviz.generate(
            model,
            tok,
            PROMPT,
            N_TOKENS,
            config={"tree": TREE, "sampling_verify": form},
            matrix=hot,
            record="none",
            seed=seed,
            **kw,
        ),
        1500,
    )
    stat, p, df = chi_square(counts, exact)
    assert p < ALPHA, f"the biased verifier was not detected: chi2={stat:.1f}, df={df}, p={p:g}"


# ----- exact special cases ----------------------------------------------------------------------


def test_sampling_verifies_the_auto_sampling_tree():
    model = make_tiny("llama", vocab=V).to(torch.bfloat16)
    tok = TinyTokenizer(V)
    # a static tree (the budget sizes its trees from the acceptance it measures instead)
    cfg = trviz.TRConfig.preset("default", budget=False, copy=5)
    want = {s: choose_tree(cfg, model, sampling=s).tree for s in (False, True)}
    assert want[True].size < want[False].size  # bf16 on CPU: a smaller tree when sampling
    for temperature, sampled in ((None, False), (0.7, True)):
        r = trviz.generate(model, tok, PROMPT, 4, cfg, temperature=temperature, record="summary")
        assert r.trace.meta["tree"]["name"] == want[sampled].name


def test_on_cpu_the_same_seed_gives_plain_samplings_tokens(tiny, hot):
    """The host walk draws once per committed token, in order, from the same random stream as
    plain sampling, and fp32 tree logits are bit-equal to one-token logits: same seed, same
    text (with drafts really accepted on the way)."""
    model, tok = tiny
    kw = dict(temperature=0.9, top_k=8)
    steps = tokens = 0
    for seed in range(40):
        plain = trviz.greedy(model, tok, PROMPT, 12, record="none", seed=seed, **kw)
        tr = trviz.generate(
            model,
            tok,
            PROMPT,
            12,
            config={"tree": TREE},
            matrix=hot,
            record="none",
            seed=seed,
            **kw,
        )
        assert tr.tokens == plain.tokens, f"seed {seed}"
        steps, tokens = steps + tr.stats.steps, tokens + tr.stats.new_tokens
    assert tokens / steps > 1.2


def test_top_k_1_sampling_is_greedy(tiny, hot):
    model, tok = tiny
    want = trviz.greedy(model, tok, PROMPT, 20).tokens
    got = trviz.generate(
        model, tok, PROMPT, 20, config={"tree": TREE}, matrix=hot, temperature=0.7, top_k=1, seed=3
    )
    assert got.tokens == want
    assert got.stats.mat > 1


def test_temperature_zero_or_none_is_greedy(tiny, hot):
    model, tok = tiny
    want = trviz.greedy(model, tok, PROMPT, 16).tokens
    for t in (None, 0, 0.0):
        r = trviz.generate(model, tok, PROMPT, 16, config={"tree": TREE}, matrix=hot, temperature=t)
        assert r.tokens == want
        assert r.trace.meta["sampling"] is None
        assert trviz.greedy(model, tok, PROMPT, 16, temperature=t).tokens == want


def test_a_seed_reproduces_a_run_and_is_recorded(tiny, hot):
    model, tok = tiny
    runs = [
        trviz.generate(
            model, tok, PROMPT, 24, config={"tree": TREE}, matrix=hot, temperature=1.0, seed=s
        )
        for s in (7, 7, 8)
    ]
    assert runs[0].tokens == runs[1].tokens
    assert runs[0].tokens != runs[2].tokens
    assert runs[0].trace.meta["sampling"] == {
        "temperature": 1.0,
        "top_k": None,
        "top_p": None,
        "seed": 7,
    }
    unseeded = trviz.generate(model, tok, PROMPT, 8, matrix=hot, temperature=1.0)
    again = trviz.generate(
        model,
        tok,
        PROMPT,
        8,
        matrix=hot,
        temperature=1.0,
        seed=unseeded.trace.meta["sampling"]["seed"],
    )
    assert again.tokens == unseeded.tokens


def test_records_hold_the_samples_and_the_walk(tiny, hot, verifier):
    """Each accepted node carries its parent's sample; the best node's sample is the bonus. The
    host walk draws exactly at the nodes it visits (root + accepted path), -1 elsewhere."""
    model, tok = tiny
    r = trviz.generate(
        model,
        tok,
        PROMPT,
        24,
        config={"tree": TREE, "sampling_verify": verifier},
        matrix=hot,
        temperature=1.0,
        seed=1,
    )
    for rec in r.trace.steps:
        for node in rec.accepted:
            assert rec.tokens[node] == rec.argmax[rec.parents[node]]
        best = rec.accepted[-1] if rec.accepted else 0
        assert rec.bonus == rec.argmax[best]
        drawn = {i for i, x in enumerate(rec.argmax) if x >= 0}
        if verifier == "walk":
            assert drawn == {0, *rec.accepted}
        else:
            assert drawn == set(range(len(rec.tokens)))
    assert [t for rec in r.trace.steps for t in rec.committed] == r.tokens


def test_views_of_a_sampled_trace_say_sample_and_none_drawn(tiny, hot):
    model, tok = tiny
    r = trviz.generate(
        model, tok, PROMPT, 24, config={"tree": TREE}, matrix=hot, temperature=1.0, seed=1
    )
    rec = max(r.trace.steps, key=lambda s: len(s.accepted))
    assert "(bonus: model sample)" in tree_text(r.trace, rec.step)
    nodes = trviz.tree_figure(r.trace, rec.step).data[3]
    unvisited = next(i for i, x in enumerate(rec.argmax) if x < 0)
    assert "none drawn" in nodes.hovertext[unvisited]
    assert f"model sample after it: '{r.trace.token_str(rec.argmax[0])}" in nodes.hovertext[0]
    greedy = trviz.generate(model, tok, PROMPT, 8, config={"tree": TREE}, matrix=hot)
    assert "(bonus: model argmax)" in tree_text(greedy.trace, 0)


# ----- the processing and the sampler -----------------------------------------------------------


def test_process_matches_transformers_warpers():
    from transformers.generation.logits_process import (
        TemperatureLogitsWarper,
        TopKLogitsWarper,
        TopPLogitsWarper,
    )

    torch.manual_seed(0)
    logits = torch.randn(5, 40) * 3
    for t, k, p in [(0.7, None, None), (1.3, 5, None), (1.0, None, 0.8), (0.5, 12, 0.6)]:
        want = TemperatureLogitsWarper(t)(None, logits.clone())
        if k is not None:
            want = TopKLogitsWarper(k)(None, want)
        if p is not None:
            want = TopPLogitsWarper(p)(None, want)
        got = process(logits, SamplingParams(t, k, p, 0))
        torch.testing.assert_close(got, want.softmax(-1))


def test_choose_draws_each_row_from_its_own_distribution():
    probs = torch.tensor([[0.7, 0.2, 0.1, 0.0], [0.0, 0.0, 0.25, 0.75]])
    gen = torch.Generator().manual_seed(0)
    n = 20_000
    picks = torch.stack([choose(probs.log(), SamplingParams(seed=0), gen) for _ in range(n)])
    for row in range(2):
        freq = torch.bincount(picks[:, row], minlength=4).float() / n
        torch.testing.assert_close(freq, probs[row], atol=0.015, rtol=0)
    assert (picks[:, 0] != 3).all() and (picks[:, 1] >= 2).all()  # zero-probability never drawn


def test_walk_follows_samples_and_first_siblings_only():
    #        root(4)
    #       /   |   \
    #     a(7) b(7) c(5)      b repeats a: the walk can only ever enter a
    #     |
    #    d(9)
    tokens, children = [4, 7, 7, 5, 9], ((1, 2, 3), (4,), (), (), ())
    logits = torch.full((5, 12), -1e9)
    logits[0, 7] = logits[1, 3] = 0.0  # root certainly samples 7; a samples 3 (d is 9: stop)
    best, samples = walk(tokens, logits, children, SamplingParams(seed=0), torch.Generator())
    assert (best, samples) == (1, [7, 3, -1, -1, -1])
    logits[0] = -1e9
    logits[0, 11] = 0.0  # a sample no child carries: the root's sample is the bonus
    assert walk(tokens, logits, children, SamplingParams(seed=0), torch.Generator()) == (
        0,
        [11, -1, -1, -1, -1],
    )


def test_first_siblings_blanks_repeats_among_siblings_only():
    #        root(4)
    #       /   |   \
    #     a(7) b(7) c(4)      b repeats a (a sibling): blanked; c repeats the root: kept
    #     |     |
    #    d(9)  e(9)           d, e are cousins, not siblings: both kept
    tokens = torch.tensor([4, 7, 7, 4, 9, 9])
    parents_ext = torch.tensor([6, 0, 0, 0, 1, 2])
    assert first_siblings(tokens, parents_ext).tolist() == [4, 7, -1, 4, 9, 9]


def test_sampling_params_are_validated():
    for bad in (
        dict(temperature=-1),
        dict(temperature=float("nan")),
        dict(top_k=0),
        dict(top_p=0),
        dict(top_p=1.5),
        dict(seed=-3),
        dict(top_k=2.5),
    ):
        with pytest.raises(ConfigError):
            SamplingParams(**bad)
    with pytest.raises(ConfigError, match="temperature"):
        sampling_params(temperature=0, top_k=5)
    assert sampling_params(None) is None
    assert sampling_params(0.7, seed=4) == SamplingParams(0.7, None, None, 4)
