"""trviz's drafter options beyond the paper: prompt lookup, longest-match copying, the per-step
budget (and seeding from the prompt)."""

from __future__ import annotations

import json

import pytest
from tiny_models import TINY_ARCHS, TinyTokenizer, make_tiny

import trviz
from trviz import TemplateError, Tree
from trviz.cost import CostModel
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


# ----- longest-match copying and the per-step budget --------------------------------------------

BUDGET_CONFIGS = [
    {},  # the default: budget + longest-match copying
    {"budget_nodes": 6},  # fixed size
    {"copy": 0, "lookup": 8},  # the budget over n-gram lookup copies
    {"budget": False, "copy": 5, "tree": "tr-8"},  # longest match on a static tree
    {"tree": "2.2.2", "copy_branches": 1, "dedupe": False},
]


@pytest.mark.parametrize("arch", TINY_ARCHS)
def test_budget_and_longest_match_stay_lossless(arch):
    model, tok = make_tiny(arch, seed=5), TinyTokenizer()
    prompts = [[5, 17, 33, 5, 17, 60, 7, 5, 17], list(range(10, 40)) * 2, [9], [4] * 12]
    for fields in BUDGET_CONFIGS:
        cfg = trviz.TRConfig.preset("default", **fields)
        matrix = None
        for p in prompts:
            g = trviz.greedy(model, tok, p, 30)
            r = trviz.generate(model, tok, p, 30, config=cfg, matrix=matrix, record="summary")
            assert r.tokens == g.tokens, (arch, fields, p)
            matrix = r.matrix
        if cfg.budget:
            assert matrix.acceptance is not None  # hot start carries the estimates


def curve(slope: float) -> CostModel:
    """A cost model where each extra token costs ``slope`` one-token forwards."""
    return CostModel((1, 200), (1,), ((1.0, 1.0 + 199 * slope),), source="test")


def test_the_budget_sizes_trees_by_cost(monkeypatch):
    model, tok = make_tiny("llama", seed=4), TinyTokenizer()
    prompt = list(range(10, 40)) * 3  # copyable
    sizes = {}
    for name, slope in (("free", 0.0), ("dear", 5.0)):
        monkeypatch.setattr(trviz.decode, "choose_cost", lambda *a, s=slope: curve(s))
        r = trviz.generate(model, tok, prompt, 40, record="summary")
        assert r.tokens == trviz.greedy(model, tok, prompt, 40).tokens
        sizes[name] = r.stats.tokens_per_forward
    assert sizes["dear"] == 1.0  # nothing pays: a plain one-token forward every step
    assert sizes["free"] > 30  # a GPU-like flat curve: the budget keeps large trees


def test_budget_decisions_are_recorded_and_round_trip(tmp_path):
    model, tok = make_tiny("llama", seed=4), TinyTokenizer()
    r = trviz.generate(model, tok, list(range(10, 40)) * 2, 30, record="full")
    steps = list(r.trace)
    assert all(s.budget is not None for s in steps)
    for s in steps:
        b = s.budget
        assert b.kept == len(s.tokens) - 1 and len(b.p) == len(s.tokens) and b.p[0] == 1.0
        assert b.gain >= 1.0 and b.cost >= 1.0
        n = len(s.tokens)
        assert len(b.pruned_tokens) == len(b.pruned_parents) == len(b.pruned_p)
        assert b.kept + len(b.pruned_tokens) == b.candidates
        assert all(par < n + j for j, par in enumerate(b.pruned_parents))
        assert all(n <= c < n + len(b.pruned_tokens) for c in b.pruned_copied)
        assert all(0 < i < n for i in s.lookup_nodes)
    assert any(s.lookup_nodes for s in steps), "the prompt repeats: copies must be verified"
    back = trviz.load_trace(r.trace.save(tmp_path / "t.json"))
    assert [s.budget for s in back] == [s.budget for s in steps]
    summary = trviz.generate(model, tok, [5, 6, 7], 8, record="summary").trace
    assert summary.steps[0].budget.p is None  # per-node figures only in full records


def test_traces_without_budget_fields_still_load(tmp_path):
    model, tok = make_tiny("llama", seed=4), TinyTokenizer()
    r = trviz.generate(model, tok, [5, 6, 7], 8, config="paper", record="full")
    data = r.trace.to_json()
    for step in data["steps"]:
        del step["budget"]  # a trace saved before the field existed
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    assert all(s.budget is None for s in trviz.load_trace(path))
