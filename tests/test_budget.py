"""The per-step budget as pure functions: estimates, cost model, candidate trie, selection."""

from __future__ import annotations

import itertools
import random

import pytest
import torch

from trviz.acceptance import MATCH_BUCKETS, Acceptance, match_bucket
from trviz.budget import TemplateClasses, candidates, choose, pruned, score, verified_tree
from trviz.cost import CostModel, flat_then_linear
from trviz.errors import ConfigError, MatrixError
from trviz.lookup import NO_COPIES, Copies
from trviz.matrix import load_matrix, new_matrix
from trviz.trees import Tree

# ----- acceptance estimates ---------------------------------------------------------------------


def test_estimates_move_toward_what_is_observed_and_forget_slowly():
    est = Acceptance(k=4, horizon=10, prior_weight=2)
    c = est.matrix_class(1, 0)
    prior = est.rate[c]
    for _ in range(50):
        est.observe(c, True)
    assert est.rate[c] > 0.85 > prior
    for _ in range(50):
        est.observe(c, False)
    assert est.rate[c] < 0.1  # a 10-observation horizon forgets the run of hits
    assert est.matrix_class(20, 3) == est.matrix_class(8, 3)  # depth is capped
    assert est.copy_class(0, 5) != est.copy_class(1, 5) != est.copy_class(0, 100)


def test_match_buckets():
    assert [match_bucket(n) for n in (1, 2, 5, 6, 7, 64, 65, 10_000)] == [0, 1, 4, 4, 5, 11, 11, 11]
    assert len(MATCH_BUCKETS) == 12


def test_estimates_round_trip_and_clone_independently():
    est = Acceptance(k=8)
    est.observe(est.copy_class(0, 9), True)
    back = Acceptance.from_dict(est.to_dict())
    assert back.rate == est.rate and back.hits == est.hits
    twin = est.clone()
    twin.observe(0, True)
    assert twin.rate[0] != est.rate[0]
    with pytest.raises(MatrixError):
        Acceptance.from_dict({"format": "something else"})
    bad = est.to_dict() | {"match_buckets": [1, 2]}
    with pytest.raises(MatrixError):
        Acceptance.from_dict(bad)


# ----- cost model -------------------------------------------------------------------------------


def grid() -> CostModel:
    #            q=1   q=5   q=9          at L = 100 and 300
    return CostModel((1, 5, 9), (100, 300), ((1.0, 2.0, 3.0), (2.0, 4.0, 8.0)), (0.5, 0.1))


def test_cost_model_interpolates_and_extrapolates_linearly():
    cm = grid()
    assert cm.forward_s(5, 100) == 2.0 and cm.forward_s(9, 300) == 8.0  # grid points
    assert cm.forward_s(3, 100) == pytest.approx(1.5)  # between q points
    assert cm.forward_s(5, 200) == pytest.approx(3.0)  # between L points
    assert cm.forward_s(13, 100) == pytest.approx(4.0)  # past the last q
    assert cm.forward_s(1, 500) == pytest.approx(3.0)  # past the last L
    assert cm.step_costs(100, 3) == pytest.approx([1.6, 1.95, 2.3])  # + 0.5 + 0.1 q
    assert cm.relative(1, 300) == 1.0
    assert CostModel.from_dict(cm.to_dict()) == cm


def test_cost_model_is_validated():
    with pytest.raises(ConfigError):
        CostModel((2, 4), (1,), ((1.0, 2.0),))
    with pytest.raises(ConfigError):
        CostModel((1, 4), (1,), ((1.0,),))
    with pytest.raises(ConfigError):
        CostModel((1, 4), (1,), ((1.0, 0.0),))


def test_flat_curve_prices_dozens_of_tokens_like_one():
    gpu = flat_then_linear(64, 0.01, "gpu")
    assert gpu.relative(48, 5000) == pytest.approx(1.0)
    assert gpu.relative(128, 100) > 1.0


# ----- candidates and selection -----------------------------------------------------------------

#  template           drafted tokens       copies (match of 3): [20, 21, 22] and [30]
#  root ── (0) ── (0,0)      root=9 ── 20 ── 40
#       └─ (1)                      └─ 50
TEMPLATE = Tree.from_paths([(0,), (1,), (0, 0)])


def small_trie(est: Acceptance):
    tc = TemplateClasses(TEMPLATE, est)
    return candidates(9, tc, [9, 20, 50, 40], Copies(3, [[20, 21, 22], [30]]), est)


def test_copies_merge_with_matrix_drafts_into_one_trie():
    est = Acceptance(k=2)
    c = small_trie(est)
    #  root 9 ── 20 (matrix rank 0 + copy) ── 40 (matrix)
    #        │                             └─ 21 (copy) ── 22 (copy)
    #        ├─ 50 (matrix rank 1)
    #        └─ 30 (copy, branch 1)
    assert c.tokens == [9, 20, 50, 40, 21, 22, 30]
    assert c.parents == [-1, 0, 0, 1, 1, 4, 0]
    assert c.copied == [False, True, False, False, True, True, True]
    assert c.ranks == [0, 0, 1, 0, 2, 2, 3]  # copy-only nodes: rank k + branch
    m0, cp3 = est.rate[est.matrix_class(1, 0)], est.rate[est.copy_class(0, 3)]
    assert c.p[1] == pytest.approx(max(m0, cp3))
    assert c.p[5] == pytest.approx(
        c.p[1] * est.rate[est.copy_class(0, 4)] * est.rate[est.copy_class(0, 5)]
    )
    assert all(c.p[i] <= c.p[c.parents[i]] for i in range(1, len(c)))


def test_unwritten_rows_are_not_candidates():
    est = Acceptance(k=2)
    c = candidates(9, TemplateClasses(TEMPLATE, est), [9, -1, 50, 40], NO_COPIES, est)
    assert c.tokens == [9, 50]  # node (0) unwritten: it and its subtree are dropped


def test_nothing_pays_on_a_steep_curve_everything_on_a_flat_one():
    est = Acceptance(k=2)
    c = small_trie(est)
    steep = choose(c, [1.0 + 5 * n for n in range(10)])
    assert steep.nodes == (0,) and steep.gain == 1.0  # a plain one-token forward
    flat = choose(c, [1.0] * 10)
    assert flat.kept == len(c) - 1 and flat.gain == pytest.approx(sum(c.p))
    capped = choose(c, [1.0] * 3)  # the cost row caps the tree at 3 tokens
    assert capped.kept == 2
    assert choose(c, [1.0 + 5 * n for n in range(10)], nodes=4).kept == 4  # fixed size


def test_selection_is_the_best_prefix_closed_subset_by_brute_force():
    rng = random.Random(0)
    for _ in range(40):
        est = Acceptance(k=3)
        for cls in range(est.n_classes):
            for _ in range(rng.randint(0, 30)):
                est.observe(cls, rng.random() < 0.6)
        template = Tree.from_paths([(0,), (1,), (2,), (0, 0), (0, 1), (1, 0), (0, 0, 0)])
        drafted = [1] + [rng.randrange(2, 9) for _ in range(template.n_nodes)]
        chain = [rng.randrange(2, 9) for _ in range(3)]
        c = candidates(1, TemplateClasses(template, est), drafted, Copies(2, [chain]), est)
        costs = [1.0 + rng.uniform(0.02, 0.3) * n for n in range(len(c))]
        sel = choose(c, costs)
        best = 1.0 / costs[0]
        for r in range(1, len(c)):
            for subset in itertools.combinations(range(1, len(c)), r):
                s = set(subset)
                if all(c.parents[i] == 0 or c.parents[i] in s for i in s):
                    best = max(best, (1 + sum(c.p[i] for i in s)) / costs[r])
        assert sel.gain / sel.cost == pytest.approx(best)
        kept = set(sel.nodes)
        assert all(c.parents[i] in kept for i in sel.nodes[1:])  # prefix-closed


def test_verified_tree_and_pruned_nodes():
    est = Acceptance(k=2)
    c = small_trie(est)
    sel = choose(c, [1.0] * 4)  # keeps the 3 best: 20, then two of its descendants / siblings
    tree, tokens, copied = verified_tree(c, sel)
    assert tree.size == 4 and tokens[0] == 9 and tokens[1] == 20
    assert copied == tuple(i for i, n in enumerate(sel.nodes) if c.copied[n])
    assert sorted(sel.nodes[1:] + tuple(pruned(c, sel))) == list(range(1, len(c)))


def test_score_counts_kept_and_pruned_children_along_the_committed_path():
    est = Acceptance(k=2, horizon=1e9, prior_weight=1)
    c = small_trie(est)
    score(c, [20, 21, 99], est)  # committed: 20, 21, then the bonus 99
    m0, m1 = est.matrix_class(1, 0), est.matrix_class(1, 1)
    assert est.hits[m0] == 1 and est.trials[m0] == 1  # 20 proposed by the matrix: correct
    assert est.hits[m1] == 0 and est.trials[m1] == 1  # 50: wrong
    assert est.trials[est.copy_class(1, 3)] == 1  # the alternative branch's 30: wrong
    assert est.hits[est.copy_class(0, 4)] == 1  # 21 under 20: correct
    assert est.trials[est.matrix_class(2, 0)] == 1 and est.hits[est.matrix_class(2, 0)] == 0
    assert est.trials[est.copy_class(0, 5)] == 1 and est.hits[est.copy_class(0, 5)] == 0  # 22


def test_estimates_travel_with_the_matrix_and_older_files_still_load(tmp_path):
    m = new_matrix(50, 8)
    m.acceptance = Acceptance(8)
    m.acceptance.observe(m.acceptance.copy_class(0, 12), True)
    back = load_matrix(m.save(tmp_path / "m.pt"))
    assert back.acceptance.rate == m.acceptance.rate
    assert m.clone().acceptance is not m.acceptance
    old = {"format": "trviz.matrix/1", "table": m.table, "fingerprint": "", "steps_seen": 0}
    torch.save(old | {"meta": {}}, tmp_path / "old.pt")  # saved before the budget existed
    assert load_matrix(tmp_path / "old.pt").acceptance is None
