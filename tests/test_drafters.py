"""trviz's drafter options beyond the paper: prompt lookup (and seeding from the prompt)."""

from __future__ import annotations

import pytest
from tiny_models import TINY_ARCHS, TinyTokenizer, make_tiny

import trviz
from trviz import TemplateError, Tree
from trviz.lookup import NgramIndex
from trviz.trees import PRESETS, with_lookup_branch


def test_ngram_index_finds_the_latest_earlier_match():
    ix = NgramIndex([1, 2, 3, 4, 5, 1, 2], max_n=3)
    assert ix.continuation(4) == [3, 4, 5, 1]  # suffix (1, 2) last seen at the start
    ix.extend([9])
    assert ix.continuation(3) == []  # nothing ever followed ... 2, 9
    ix.extend([1, 2])
    assert ix.continuation(2) == [9, 1]  # (1, 2) now last seen at positions 5-6
    assert NgramIndex([7, 8, 9]).continuation(3) == []  # the suffix never matches itself
    with pytest.raises(ValueError):
        NgramIndex([], max_n=0)


def test_lookup_branch_uses_a_free_root_rank():
    #  root ── (0) ── (0,0)      + lookup chain (1) ── (1,0) ── (1,0,0)
    tree, chain = with_lookup_branch(Tree.from_paths([(0,), (0, 0)]), 3, k=8)
    assert [tree.paths[i] for i in chain] == [(1,), (1, 0), (1, 0, 0)]
    # the paper tree's root is full at k=8: the chain replaces the rank-7 subtree
    tree, chain = with_lookup_branch(PRESETS["2.2.2"], 4, k=8)
    assert tree.paths[chain[0]] == (7,) and tree.n_nodes == 80 - 2 + 4
    with pytest.raises(TemplateError):
        with_lookup_branch(PRESETS["tr-8"], 0, k=8)


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_drafter_options_stay_lossless(arch):
    model, tok = make_tiny(arch, seed=4), TinyTokenizer()
    prompts = [[5, 17, 33, 5, 17, 60, 7, 5, 17], list(range(10, 40)), [9]]
    configs = [
        {"tree": "tr-8", "lookup": 4},
        {"tree": "2.2.2", "lookup": 6, "dedupe": False},
        {"tree": "tr-16", "lookup": 3, "seed_from_prompt": True},
    ]
    for cfg in configs:
        matrix = None
        for p in prompts:
            g = trviz.greedy(model, tok, p, 30)
            r = trviz.generate(model, tok, p, 30, config=cfg, matrix=matrix)
            assert r.tokens == g.tokens, (arch, cfg, p)
            matrix = r.matrix


def test_lookup_nodes_are_recorded():
    model, tok = make_tiny("llama", seed=4), TinyTokenizer()
    r = trviz.generate(
        model, tok, [5, 17, 33, 5, 17, 60, 7, 5, 17], 30, config={"tree": "tr-8", "lookup": 4}
    )
    copied = [s for s in r.trace if s.lookup_nodes]
    assert copied, "the prompt repeats (5, 17): lookup must fire at least once"
    for s in copied:
        chain = s.lookup_nodes
        assert all(s.tokens[i] >= 0 for i in chain)
