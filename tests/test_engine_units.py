"""Hand-drawn cases for each phase of a step: draft, mask/positions, accept, compact, update."""

from __future__ import annotations

import pytest
import torch

from trviz import Tree, get_tree
from trviz.decode import _commit
from trviz.matrix import draft, update, write_winners
from trviz.tree_attention import TreeTensors, tree_mask, tree_positions
from trviz.verify import accept

#  The tree used below (node index, path):
#
#  0 root
#  ├── 1 (0)
#  │   ├── 3 (0,0)
#  │   │   └── 5 (0,0,0)
#  │   └── 4 (0,1)
#  └── 2 (1)
TREE = Tree.from_paths([(0,), (1,), (0, 0), (0, 1), (0, 0, 0)])
TT = TreeTensors.build(TREE, "cpu")


def test_tree_layout():
    assert TREE.parents == (-1, 0, 0, 1, 1, 3)
    assert TREE.depths == (0, 1, 1, 2, 2, 3)


def test_draft_reads_one_row_per_parent():
    table = torch.full((10, 2), -1, dtype=torch.int32)
    table[7] = torch.tensor([3, 4])  # after the root (7): 3, then 4
    table[3] = torch.tensor([8, 9])  # after 3: 8, then 9
    table[8] = torch.tensor([1, 2])
    tokens = draft(table, torch.tensor(7), TT.parents, TT.ranks, TREE.layers)
    #         root 7 -> 3 (rank 0), 4 (rank 1); 3 -> 8, 9; 8 -> 1
    assert tokens.tolist() == [7, 3, 4, 8, 9, 1]


def test_draft_leaves_unwritten_rows_empty():
    table = torch.full((10, 2), -1, dtype=torch.int32)
    table[7] = torch.tensor([3, 4])  # row 3 never written
    tokens = draft(table, torch.tensor(7), TT.parents, TT.ranks, TREE.layers)
    assert tokens.tolist() == [7, 3, 4, -1, -1, -1]


def test_paper_zero_fill_drafts_token_zero():
    table = torch.zeros((10, 2), dtype=torch.int32)
    tokens = draft(table, torch.tensor(7), TT.parents, TT.ranks, TREE.layers)
    assert tokens.tolist() == [7, 0, 0, 0, 0, 0]


def test_mask_is_prefix_plus_ancestry_not_triangular():
    m = tree_mask(TT, prefix_len=2, kind="bool", dtype=torch.float32)
    assert m.shape == (1, 1, 6, 8)
    rows = m[0, 0].int().tolist()
    assert rows == [
        # prefix | 0  1  2  3  4  5
        [1, 1, 1, 0, 0, 0, 0, 0],
        [1, 1, 1, 1, 0, 0, 0, 0],
        [1, 1, 1, 0, 1, 0, 0, 0],  # node 2 does not see its elder sibling 1
        [1, 1, 1, 1, 0, 1, 0, 0],
        [1, 1, 1, 1, 0, 0, 1, 0],  # node 4 does not see its sibling 3
        [1, 1, 1, 1, 0, 1, 0, 1],
    ]
    f = tree_mask(TT, prefix_len=2, kind="float", dtype=torch.float32)[0, 0]
    assert (f == 0).int().tolist() == rows
    assert f.min() == torch.finfo(torch.float32).min
    assert tree_positions(TT, 2).tolist() == [[2, 3, 3, 4, 4, 5]]


@pytest.mark.parametrize("tree", ["2.2.2", "cand-40", [(0,) * d for d in range(1, 70)], [(0,)]])
def test_tree_tensors_derive_from_the_template(tree):
    t = get_tree(tree)
    tt = TreeTensors.build(t, "cpu")
    assert tt.ancestors.tolist() == t.mask_rows()
    assert tt.parents.tolist() == [0, *t.parents[1:]] and tt.depths.tolist() == list(t.depths)
    deepest = t.size - 1
    assert tt.path(deepest).tolist() == list(t.ancestors[deepest])


@pytest.mark.parametrize(
    "tokens, argmax, best",
    [
        # model wants 3 after root, 8 after 3, 1 after 8: the whole chain 0-1-3-5 is accepted
        ([7, 3, 4, 8, 9, 1], [3, 8, 0, 1, 0, 0], 5),
        # model wants 9 after 3: branch 0-1-4 (node 4 carries 9)
        ([7, 3, 4, 8, 9, 1], [3, 9, 0, 0, 0, 0], 4),
        # model wants 4 after root: only node 2
        ([7, 3, 4, 8, 9, 1], [4, 8, 0, 1, 0, 0], 2),
        # nothing matches: the root alone, its argmax is the bonus
        ([7, 3, 4, 8, 9, 1], [5, 8, 0, 1, 0, 0], 0),
        # node 5 matches its parent but node 3 does not: a broken path is not accepted
        ([7, 3, 4, 8, 9, 1], [3, 9, 0, 1, 0, 0], 4),
        # an unwritten slot never matches
        ([7, 3, 4, -1, -1, -1], [3, 0, 0, 0, 0, 0], 1),
    ],
)
def test_accept_takes_the_deepest_fully_matching_path(tokens, argmax, best):
    assert int(accept(torch.tensor(tokens), torch.tensor(argmax), TT)) == best


def test_accept_tie_goes_to_first_in_bfs_order():
    # both children of the root carry 3 (a duplicated candidate): node 1 wins
    assert int(accept(torch.tensor([7, 3, 3, 5, 6, 0]), torch.tensor([3, 0, 0, 0, 0, 0]), TT)) == 1


def test_write_winners_rule():
    tokens = torch.tensor([7, 3, 3, 7, 9, -1])
    on_path = torch.tensor([True, True, False, True, False, False])  # path 0-1-3
    w = write_winners(tokens, on_path, TT.depths).tolist()
    # token 7 at nodes 0 and 3 (both on the path): the deeper, node 3, wins
    # token 3 at nodes 1 (on path) and 2 (off): node 1 wins
    # token 9 only at node 4; -1 is never written
    assert w == [False, True, False, True, True, False]
    off = torch.zeros(6, dtype=torch.bool)
    on_root = off.clone()
    on_root[0] = True
    # nobody but the root on the path: token 3's first BFS node (1) wins over node 2
    assert write_winners(tokens, on_root, TT.depths).tolist() == [
        True, True, False, False, True, False]  # fmt: skip


def test_update_overwrites_whole_rows_of_winners():
    table = torch.full((10, 2), -1, dtype=torch.int32)
    table[3] = torch.tensor([5, 5])
    tokens = torch.tensor([7, 3, 3])
    candidates = torch.tensor([[1, 2], [4, 6], [8, 9]])
    winners = torch.tensor([True, True, False])
    update(table, tokens, candidates, winners)
    assert table[7].tolist() == [1, 2]
    assert table[3].tolist() == [4, 6]
    assert table[9].tolist() == [-1, -1]


def _fake_cache(length: int):
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicLayer

    cache = DynamicCache()
    layer = DynamicLayer()
    vals = torch.arange(length, dtype=torch.float32).view(1, 1, length, 1)
    layer.update(vals.clone(), -vals.clone())
    cache.layers = [layer]
    return cache


@pytest.mark.parametrize(
    "keep, expected",
    [
        ([0, 1, 3, 5], [0, 1, 2, 3, 5, 7]),  # prefix 0,1 then tree entries 2+{0,1,3,5}
        ([0, 1, 2], [0, 1, 2, 3, 4]),  # contiguous: a plain crop
        ([0], [0, 1, 2]),
    ],
)
def test_compaction_keeps_accepted_entries_contiguous(keep, expected):
    from trviz.kv import check_cache, compact

    cache = _fake_cache(2 + 6)  # prefix of 2, tree of 6
    check_cache(cache)
    contiguous = keep[-1] == len(keep) - 1
    compact(cache, 2, torch.tensor(keep), len(keep), contiguous)
    assert cache.layers[0].keys.flatten().tolist() == expected
    assert cache.layers[0].values.flatten().tolist() == [-x for x in expected]
    assert cache.get_seq_length() == len(expected)


def test_unsupported_cache_is_refused():
    from transformers import DynamicCache
    from transformers.cache_utils import DynamicSlidingWindowLayer

    from trviz import CacheError
    from trviz.kv import check_cache

    cache = DynamicCache()
    cache.layers = [DynamicSlidingWindowLayer(sliding_window=4)]
    with pytest.raises(CacheError, match="sliding"):
        check_cache(cache)


@pytest.mark.parametrize(
    "tokens, budget, expected",
    [
        ([5, 6, 7], 10, ([5, 6, 7], None)),
        ([5, 2, 7], 10, ([5, 2], "eos")),  # nothing after EOS
        ([5, 6, 7], 2, ([5, 6], "length")),  # never more than max_new_tokens
        ([5, 6, 2], 2, ([5, 6], "length")),
        ([5, 6, 7], 3, ([5, 6, 7], "length")),
    ],
)
def test_commit_stops_exactly(tokens, budget, expected):
    assert _commit(tokens, frozenset({2}), budget) == expected
