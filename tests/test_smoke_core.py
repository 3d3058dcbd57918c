"""Quick end-to-end: TR == greedy on tiny models and on SmolLM2."""

from __future__ import annotations

import pytest
from tiny_models import TINY_ARCHS, TinyTokenizer, make_tiny

import trviz


@pytest.mark.parametrize("arch", TINY_ARCHS)
@pytest.mark.parametrize("attn", ["sdpa", "eager"])
def test_tiny_tr_equals_greedy(arch, attn):
    model, tok = make_tiny(arch, attn), TinyTokenizer()
    prompt = [5, 17, 33, 5, 17, 60, 7]
    g = trviz.greedy(model, tok, prompt, max_new_tokens=40)
    matrix = None
    for tree in ["2.2.2", "tr-12", "chain-4"]:
        r = trviz.generate(model, tok, prompt, 40, config={"tree": tree}, matrix=matrix)
        assert r.tokens == g.tokens, (arch, attn, tree)
        matrix = r.matrix


@pytest.mark.slow
def test_smollm_tr_equals_greedy(smollm):
    model, tok = smollm
    p = "Write a Python function that returns the squares of a list."
    g = trviz.greedy(model, tok, p, max_new_tokens=32)
    r = trviz.generate(model, tok, p, max_new_tokens=32, config="paper")
    assert r.tokens == g.tokens
    assert r.stats.steps < g.stats.steps
