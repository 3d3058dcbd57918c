"""The property that carries the engine: Token Recycling tokens == greedy tokens.

On tiny random-init models of three architectures under eager and SDPA attention (fast, many
cases), and on the real SmolLM2-135M-Instruct in fp32 (slow: 10 prompts x 3 trees x hot/cold).
"""

from __future__ import annotations

import pytest
from tiny_models import TINY_ARCHS, TinyTokenizer, make_tiny

import trviz

TREES = ["2.2.2", "tr-12", "chain-4"]


@pytest.mark.parametrize("arch", TINY_ARCHS)
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_tiny_models_tr_equals_greedy(arch, attn, seed):
    model, tok = make_tiny(arch, attn, seed=seed), TinyTokenizer()
    prompts = [[9], [5, 17, 33, 5, 17, 60, 7], list(range(10, 40)), [4, 4, 4, 4, 4, 4]]
    for tree in TREES:
        for dedupe in (False, True):
            cfg = trviz.TRConfig(tree=tree, dedupe=dedupe)
            matrix = None
            for p in prompts:
                g = trviz.greedy(model, tok, p, max_new_tokens=30)
                r = trviz.generate(model, tok, p, 30, config=cfg, matrix=matrix)
                assert r.tokens == g.tokens, (arch, attn, seed, tree, dedupe, p)
                assert r.finish_reason == g.finish_reason
                matrix = r.matrix


SMOLLM_PROMPTS = [
    "Write a Python function that returns the n-th Fibonacci number.",
    "def quicksort(xs):\n",
    "Hi! How are you today?",
    "What is the capital of France? Answer in one sentence.",
    "Write a haiku about autumn leaves.",
    "Explain what a hash table is to a ten-year-old.",
    "Repeat the word 'hello' twenty times, separated by spaces.",
    "1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12,",
    "Translate to French: The cat sleeps on the warm windowsill.",
    "List the planets of the solar system in order.",
]


@pytest.mark.slow
@pytest.mark.parametrize("tree", TREES)
def test_smollm_tr_equals_greedy_hot_and_cold(smollm, tree):
    model, tok = smollm
    cfg = trviz.TRConfig(tree=tree, dedupe=tree != "2.2.2")
    hot = None
    one_token = tok("The", add_special_tokens=False)["input_ids"][:1]
    for i, p in enumerate([*SMOLLM_PROMPTS, one_token]):
        chat = None if i != 7 else False  # one raw-text continuation prompt
        g = trviz.greedy(model, tok, p, max_new_tokens=40, chat=chat)
        cold = trviz.generate(model, tok, p, 40, config=cfg, chat=chat, record="none")
        warm = trviz.generate(
            model, tok, p, 40, config=cfg, matrix=hot, chat=chat, record="summary"
        )
        hot = warm.matrix
        assert cold.tokens == g.tokens, (tree, "cold", p)
        assert warm.tokens == g.tokens, (tree, "hot", p)
        assert warm.text == g.text


@pytest.mark.slow
def test_smollm_paper_config_accepts_drafts(smollm):
    """Not a speed claim: on repetitive text the paper tree must accept more than one token
    per forward, otherwise drafting is broken even if the output is right."""
    model, tok = smollm
    p = "Repeat the word 'hello' twenty times, separated by spaces."
    m = trviz.generate(model, tok, p, 64, config="paper", record="none").matrix
    r = trviz.generate(model, tok, p, 64, config="paper", matrix=m, record="none")
    assert r.stats.mat > 1.5


@pytest.mark.slow
def test_smollm_matches_hf_generate(smollm):
    model, tok = smollm
    p = SMOLLM_PROMPTS[0]
    assert trviz.hf_generate(model, tok, p, 40).tokens == trviz.greedy(model, tok, p, 40).tokens
