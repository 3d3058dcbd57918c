"""Exercise checkers: each accepts trviz's reference and an independent plain-Python solution,
and rejects a known-wrong implementation with the first mismatch in words."""

from __future__ import annotations

import pytest

import tr_notebooks
from tr_notebooks import checkers as c

# ----- independent solutions, written the way a student would (no trviz) ------------------------


def chain_accept(draft, argmax):
    n = 0
    while n < len(draft) and draft[n] == argmax[n]:
        n += 1
    return draft[:n] + [argmax[n]]


def recycle(tokens, topk, committed):
    rows, on_path = {}, set(committed)
    for i in sorted(committed):  # deeper committed nodes come later and overwrite
        if tokens[i] >= 0:
            rows[tokens[i]] = topk[i]
    for i, t in enumerate(tokens):
        if t >= 0 and i not in on_path and t not in rows:
            rows[t] = topk[i]
    return rows


def draft(rows, root, parents, ranks):
    tokens = [root]
    for i in range(1, len(parents)):
        parent_token = tokens[parents[i]]
        row = rows.get(parent_token) if parent_token >= 0 else None
        tokens.append(row[ranks[i]] if row else -1)
    return tokens


def _ancestors(parents, i):
    out = {i}
    while parents[i] >= 0:
        i = parents[i]
        out.add(i)
    return out


def tree_mask(parents):
    n = len(parents)
    return [[j in _ancestors(parents, i) for j in range(n)] for i in range(n)]


def positions(parents, prefix_len):
    return [prefix_len + len(_ancestors(parents, i)) - 1 for i in range(len(parents))]


def longest_accepted(tokens, argmax, parents):
    ok = [True] + [False] * (len(tokens) - 1)
    best, best_depth = 0, 0
    for i in range(1, len(tokens)):
        ok[i] = ok[parents[i]] and tokens[i] == argmax[parents[i]]
        depth = len(_ancestors(parents, i)) - 1
        if ok[i] and depth > best_depth:
            best, best_depth = i, depth
    return best


def sample_walk(tokens, parents, samples):
    node, out = 0, []
    while True:
        x = samples[node]
        child = next(
            (c for c in range(1, len(tokens)) if parents[c] == node and tokens[c] == x), None
        )
        if child is None:
            return out + [x]
        out.append(x)
        node = child


SOLUTIONS = {
    "chain_accept": chain_accept,
    "recycle": recycle,
    "draft": draft,
    "tree_mask": tree_mask,
    "positions": positions,
    "longest_accepted": longest_accepted,
    "sample_walk": sample_walk,
}

# ----- known-wrong implementations: the classic mistakes, and the words that must name them -----

WRONG = {
    # follows the LAST sibling carrying the sample (the best-of-two bias first_siblings prevents)
    "sample_walk": (
        lambda tokens, parents, samples: _walk_last(tokens, parents, samples),
        "case 'two siblings carry the sample: only the first copy is followed'",
        "should commit [11, 50] (1 draft token accepted, then the bonus token 50), "
        "yours commits [11, 16, 46]",
    ),
    # counts matches anywhere instead of stopping at the first miss
    "chain_accept": (
        lambda d, a: (
            [t for t, m in zip(d, a, strict=False) if t == m] + [a[sum(map(int.__eq__, d, a))]]
        ),
        "case 'wrong in the middle'",
        "should commit [11, 30] (1 draft token accepted, then the bonus token 30), "
        "yours commits [11, 13, 13]",
    ),
    # last write wins, whatever the path
    "recycle": (
        lambda tokens, topk, committed: {t: r for t, r in zip(tokens, topk, strict=True) if t >= 0},
        "case 'a repeated token: the committed node wins'",
        "row 3 should become [5, 3], yours is [2, 2]",
    ),
    # every node reads the root's row (ignores the parent)
    "draft": (
        lambda rows, root, parents, ranks: (
            [root] + [rows.get(root, [-1] * 8)[r] for r in ranks[1:]]
        ),
        "case 'a chain follows rank 0'",
        "node 2 (path [0, 0]) should carry token 14, yours has 11",
    ),
    # plain causal mask: siblings see each other
    "tree_mask": (
        lambda parents: [[j <= i for j in range(len(parents))] for i in range(len(parents))],
        "case 'a fan: siblings never see each other'",
        "row 2 (node 2, path [1]), column 1: should be False",
    ),
    # positions as in a flat sequence (index instead of depth)
    "positions": (
        lambda parents, prefix_len: [prefix_len + i for i in range(len(parents))],
        "case 'a fan after 9 tokens'",
        "node 2 (path [1]) should sit at position 10, yours says 11",
    ),
    # accepts a right token even when its parent was wrong
    "longest_accepted": (
        lambda tokens, argmax, parents: max(
            (i for i in range(len(tokens)) if i == 0 or tokens[i] == argmax[parents[i]]),
            key=lambda i: (len(_ancestors(parents, i)), -i),
        ),
        "case 'a right token under a wrong parent does not count'",
        "the deepest accepted node is 3 (path [2], commits [13] + bonus 81), yours says 7",
    ),
}


def _walk_last(tokens, parents, samples):
    node, out = 0, []
    while True:
        x = samples[node]
        kids = [c for c in range(1, len(tokens)) if parents[c] == node and tokens[c] == x]
        if not kids:
            return out + [x]
        out.append(x)
        node = kids[-1]


@pytest.mark.parametrize("name", sorted(c.CHECKERS))
def test_checker_accepts_the_reference(name):
    verdict = c.CHECKERS[name](c.REFERENCES[name])
    assert verdict.ok, verdict.message
    assert verdict.passed == verdict.total == len(_cases(name))


@pytest.mark.parametrize("name", sorted(c.CHECKERS))
def test_checker_accepts_an_independent_solution(name):
    verdict = c.CHECKERS[name](SOLUTIONS[name])
    assert verdict.ok, verdict.message
    assert verdict.message.startswith(f"[pass] {name}: all ")


@pytest.mark.parametrize("name", sorted(WRONG))
def test_checker_rejects_a_known_wrong_implementation(name):
    wrong, case, words = WRONG[name]
    verdict = c.CHECKERS[name](wrong)
    assert not verdict.ok
    assert not bool(verdict)
    assert verdict.passed < verdict.total
    assert case in verdict.message, verdict.message
    assert words in verdict.message, verdict.message
    assert "hint:" in verdict.message


def test_a_stub_that_raises_is_reported_not_raised():
    def stub(rows, root, parents, ranks):
        raise NotImplementedError("write your draft here")

    verdict = tr_notebooks.check_draft(stub)
    assert not verdict.ok and verdict.passed == 0
    assert "your function raised NotImplementedError: write your draft here" in verdict.message


def test_wrong_return_type_is_named():
    verdict = tr_notebooks.check_positions(lambda parents, prefix_len: None)
    assert not verdict.ok
    assert "should return a list of position ids, yours returned NoneType None" in verdict.message


def test_a_function_that_mutates_its_inputs_cannot_spoil_later_cases():
    def clobber(tokens, topk, committed):
        out = recycle(tokens, topk, committed)
        tokens.clear()
        return out

    assert tr_notebooks.check_recycle(clobber).ok
    assert c.RECYCLE_CASES[0].args["tokens"] == [3, 7, 9]


def test_tensor_answers_are_accepted():
    import torch

    verdict = tr_notebooks.check_positions(lambda p, n: torch.tensor(positions(p, n)))
    assert verdict.ok, verdict.message


def test_hand_drawn_expectations():
    """The reference agrees with answers worked out by hand from the docstring's tree."""
    assert c.ref_draft(**c.DRAFT_CASES[2].args) == [10, 11, 12, 13, 14, 15, 17, 20]
    assert c.ref_longest_accepted(**c.ACCEPT_CASES[3].args) == 7
    assert c.ref_recycle(**c.RECYCLE_CASES[4].args) == {2: [7, 8], 5: [1, 1]}
    assert c.ref_chain_accept(**c.CHAIN_CASES[2].args) == [11, 30]
    assert c.ref_positions(**c.POSITION_CASES[2].args) == [12, 13, 13, 13, 14, 14, 14, 15]


def _cases(name):
    return {
        "chain_accept": c.CHAIN_CASES,
        "recycle": c.RECYCLE_CASES,
        "draft": c.DRAFT_CASES,
        "tree_mask": c.MASK_CASES,
        "positions": c.POSITION_CASES,
        "longest_accepted": c.ACCEPT_CASES,
        "sample_walk": c.WALK_CASES,
    }[name]
