"""Tree templates: the paper's tree, canonical BFS form, validation."""

from __future__ import annotations

from collections import Counter

import pytest

from trviz import TemplateError, Tree, get_tree
from trviz.config import TRConfig
from trviz.trees import PRESETS, SPINE, check_fits


def test_paper_tree_matches_the_reference():
    t = PRESETS["2.2.2"]
    assert t.n_nodes == 80 and t.size == 81
    assert t.depth == 6
    assert t.nodes_per_depth() == (8, 21, 25, 15, 8, 3)
    assert len([i for i in t.leaves if i != 0]) == 40
    children = Counter(t.paths[t.parents[i]] for i in range(1, t.size))
    assert children[()] == 8
    assert [children[(r,)] for r in range(8)] == [8, 4, 3, 2, 1, 1, 1, 1]
    assert children[(0, 0)] == 8 and children[(0, 1)] == 3 and children[(1, 0)] == 2
    assert children[(0, 0, 0)] == 5 and children[(0, 0, 0, 0)] == 3
    assert children[(0, 0, 0, 0, 0)] == 2 and children[(0, 0, 0, 1, 0)] == 1


def test_from_paths_sorts_into_bfs_order():
    #   root
    #   ├── (0) ── (0,0)
    #   └── (1)
    t = Tree.from_paths([(0, 0), (1,), (0,)])
    assert t.parents == (-1, 0, 0, 1)
    assert t.ranks == (0, 0, 1, 0)
    assert t.depths == (0, 1, 1, 2)
    assert t.paths == ((), (0,), (1,), (0, 0))
    assert t.ancestors[3] == (0, 1, 3)
    assert t.layers == ((1, 3), (3, 4))
    assert t.mask_rows() == [
        [True, False, False, False],
        [True, True, False, False],
        [True, False, True, False],
        [True, True, False, True],
    ]


@pytest.mark.parametrize(
    "paths, message",
    [
        ([(0, 1)], "prefix-closed"),
        ([(0,), (0,)], "appears twice"),
        ([(0,), (-1,)], "negative"),
    ],
)
def test_bad_paths_are_refused(paths, message):
    with pytest.raises(TemplateError, match=message):
        Tree.from_paths(paths)


@pytest.mark.parametrize(
    "parents, ranks, message",
    [
        ((0, 0), (0, 0), "root"),
        ((-1, 2, 0), (0, 0, 1), "earlier in BFS"),
        ((-1, 0, 0), (0, 1, 1), "already has a child of rank 1"),
        ((-1, 0, 1, 0), (0, 0, 0, 1), "BFS order"),
        ((-1, 0), (0,), "differ in length"),
    ],
)
def test_bad_parent_arrays_are_refused(parents, ranks, message):
    with pytest.raises(TemplateError, match=message):
        Tree(parents, ranks)


def test_rank_must_fit_k():
    tree = Tree.from_paths([(0,), (5,)])
    check_fits(tree, 6)
    with pytest.raises(TemplateError, match="k >= 6"):
        check_fits(tree, 4)
    with pytest.raises(TemplateError):
        TRConfig(tree=tree, k=4)


def test_acceptance_shaped_trees_are_prefix_closed_and_sized():
    for n in (1, 8, 16, 40):
        t = Tree.from_acceptance([0.6, 0.2, 0.1], n)
        assert t.n_nodes == n
        assert set(t.paths[1:]) >= {p[:-1] for p in t.paths[1:] if len(p) > 1}
    # with one dominant rank the tree is a chain
    assert Tree.from_acceptance([0.9, 0.01], 4).paths[1:] == ((0,), (0, 0), (0, 0, 0), (0, 0, 0, 0))
    with pytest.raises(TemplateError):
        Tree.from_acceptance([1.5], 4)


def test_get_tree_and_round_trip():
    assert get_tree("2.2.2") is PRESETS["2.2.2"]
    t = get_tree([(0,), (1,), (0, 0)])
    assert Tree.from_dict(t.to_dict()) == t
    with pytest.raises(TemplateError, match="unknown tree"):
        get_tree("nope")


def test_auto_n_names_any_rate_shaped_size():
    t = get_tree("auto-13")
    assert t.n_nodes == 13 and t.name == "auto-13"
    assert set(get_tree("tr-12").paths) < set(t.paths)
    assert get_tree("auto-8").paths == get_tree("tr-8").paths
    with pytest.raises(TemplateError, match="auto-N"):
        get_tree("auto-x")
    with pytest.raises(TemplateError, match="1..4096"):
        get_tree("auto-0")


def test_cand_n_is_auto_n_plus_a_rank_zero_spine():
    t = get_tree("cand-24")
    assert set(get_tree("auto-24").paths) < set(t.paths)
    assert (0,) * SPINE in t.paths and t.depth == SPINE
    assert t.n_nodes == 24 + SPINE - get_tree("auto-24").depth
