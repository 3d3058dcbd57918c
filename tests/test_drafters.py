"""trviz's drafter options beyond the paper: prompt lookup and second-order context rows."""

from __future__ import annotations

import pytest
import torch
from conftest import TINY_ARCHS, TinyTokenizer, make_tiny

import trviz
from trviz import TemplateError, Tree
from trviz.lookup import NgramIndex
from trviz.matrix import draft_context, new_matrix, pair_code, update_context
from trviz.tree_attention import TreeTensors
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


def test_context_rows_prefer_the_pair_and_fall_back_to_the_token():
    #  root 7 (after 6) ── child rank 0
    tree = Tree.from_paths([(0,), (0, 0)])
    tt = TreeTensors.build(tree, "cpu")
    m = new_matrix(20, 2, context_rows=11)
    m.table[7] = torch.tensor([3, 4])
    m.table[3] = torch.tensor([5, 6])
    # the pair (6, 7) was seen before and was followed by 9
    code = int(pair_code(torch.tensor(6), torch.tensor(7), 20))
    m.context[code % 11] = torch.tensor([9, 8])
    m.context_keys[code % 11] = code
    tokens = torch.tensor([7, 0, 0, 6])  # root, two slots, then the token before the root
    out = draft_context(m.table, m.context, m.context_keys, tokens, tt.grand, tt.parents,
                        tt.ranks, tree.layers)
    # depth 1 uses the (6, 7) pair row -> 9; depth 2: pair (7, 9) unseen, row 9 unwritten -> -1
    assert out.tolist() == [7, 9, -1]
    m.table[9] = torch.tensor([1, 2])
    tokens = torch.tensor([7, 0, 0, 6])
    out = draft_context(m.table, m.context, m.context_keys, tokens, tt.grand, tt.parents,
                        tt.ranks, tree.layers)
    assert out.tolist() == [7, 9, 1]  # falls back to the first-order row of 9


def test_update_context_writes_pair_rows():
    tree = Tree.from_paths([(0,), (0, 0)])
    tt = TreeTensors.build(tree, "cpu")
    m = new_matrix(20, 2, context_rows=101)
    tokens = torch.tensor([7, 9, 1, 6])
    candidates = torch.tensor([[9, 8], [1, 2], [4, 5]])
    on_path = torch.tensor([True, True, False])
    update_context(m.context, m.context_keys, tokens, tt.parents_ext, candidates, on_path,
                   tt.depths, 20)
    for prev, tok, row in [(6, 7, [9, 8]), (7, 9, [1, 2]), (9, 1, [4, 5])]:
        code = int(pair_code(torch.tensor(prev), torch.tensor(tok), 20))
        assert int(m.context_keys[code % 101]) == code
        assert m.context[code % 101].tolist() == row


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_drafter_options_stay_lossless(arch):
    model, tok = make_tiny(arch, seed=4), TinyTokenizer()
    prompts = [[5, 17, 33, 5, 17, 60, 7, 5, 17], list(range(10, 40)), [9]]
    configs = [
        {"tree": "tr-8", "lookup": 4},
        {"tree": "2.2.2", "lookup": 6, "dedupe": False},
        {"tree": "tr-16", "context_rows": 13},  # tiny table: collisions must stay harmless
        {"tree": "tr-16", "context_rows": 101, "lookup": 3, "seed_from_prompt": True},
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
    r = trviz.generate(model, tok, [5, 17, 33, 5, 17, 60, 7, 5, 17], 30,
                       config={"tree": "tr-8", "lookup": 4})
    copied = [s for s in r.trace if s.lookup_nodes]
    assert copied, "the prompt repeats (5, 17): lookup must fire at least once"
    for s in copied:
        chain = s.lookup_nodes
        assert all(s.tokens[i] >= 0 for i in chain)
