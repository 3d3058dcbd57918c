"""Exercise checkers: your function vs trviz's reference, on shared hand-drawn cases.

Each ``check_<name>(fn)`` calls ``fn`` on every case of :data:`CASES` ``[name]``, computes the
expected answer with trviz's own implementation (``trviz.verify.accept``, ``trviz.matrix.draft``,
``trviz.matrix.write_winners``, ``trviz.tree_attention.tree_mask`` / ``tree_positions``) and
returns a :class:`Verdict`: the first mismatch in words, with a hint, or "all cases pass". A
checker never raises (an exception inside ``fn`` is reported as a mismatch), so a notebook whose
exercise is still a stub runs top to bottom.

Exercises use plain Python lists and dicts, not tensors. The hand-drawn tree most cases use::

    node: path          0 (root)
      1: [0]            |-- 1 [0]
      2: [1]            |   |-- 4 [0,0]
      3: [2]            |   |   `-- 7 [0,0,0]
      4: [0,0]          |   `-- 5 [0,1]
      5: [0,1]          |-- 2 [1]
      6: [1,0]          |   `-- 6 [1,0]
      7: [0,0,0]        `-- 3 [2]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trviz.trees import Tree

# ----- the verdict ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Verdict:
    """The result of a check: ``ok``, how many cases passed, and a message in words."""

    exercise: str
    ok: bool
    passed: int
    total: int
    message: str

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython display: the message, verbatim
        p.text(self.message)


@dataclass(frozen=True)
class Case:
    """One hand-drawn case: a name, the arguments passed to the student's function."""

    name: str
    args: dict[str, Any]


Compare = Callable[[dict[str, Any], Any, Any], str | None]


def _run(
    exercise: str, fn: Callable, cases: list[Case], reference: Callable, compare: Compare, hint: str
) -> Verdict:
    for passed, case in enumerate(cases):
        expected = reference(**case.args)
        try:
            got = _plain(fn(*_copy(case.args).values()))  # positional: any parameter names
        except Exception as e:  # the student's code: report it, never crash the notebook
            return _fail(
                exercise,
                passed,
                len(cases),
                case,
                f"your function raised {type(e).__name__}: {e}",
                hint,
            )
        problem = compare(case.args, expected, got)
        if problem:
            return _fail(exercise, passed, len(cases), case, problem, hint)
    n = len(cases)
    return Verdict(
        exercise,
        True,
        n,
        n,
        f"[pass] {exercise}: all {n} hand-drawn cases match trviz's reference.",
    )


def _fail(exercise: str, passed: int, total: int, case: Case, problem: str, hint: str) -> Verdict:
    args = ", ".join(f"{k}={v!r}" for k, v in case.args.items())
    msg = (
        f"[not yet] {exercise}: {passed}/{total} cases pass. First mismatch, case "
        f"{case.name!r}\n  inputs: {args}\n  {problem}\n  hint: {hint}"
    )
    return Verdict(exercise, False, passed, total, msg)


def _plain(value: Any) -> Any:
    """Tensors and tuples become lists, so students may return either."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {_plain(k): _plain(v) for k, v in value.items()}
    return value


def _copy(args: dict[str, Any]) -> dict[str, Any]:
    """Fresh copies, so a function that mutates its inputs cannot spoil the next case."""
    import copy

    return copy.deepcopy(args)


def _type_problem(got: Any, want: type, what: str) -> str | None:
    if not isinstance(got, want):
        return f"should return {what}, yours returned {type(got).__name__} {got!r}"
    return None


# ----- shared hand-drawn trees ------------------------------------------------------------------

# The tree drawn in the module docstring, and the paper's first levels in miniature.
SMALL_TREE = Tree.from_paths([(0,), (1,), (2,), (0, 0), (0, 1), (1, 0), (0, 0, 0)], "small")
CHAIN_3 = Tree.from_paths([(0,), (0, 0), (0, 0, 0)], "chain-3")
FAN_3 = Tree.from_paths([(0,), (1,), (2,)], "fan-3")


def _path(parents: list[int], node: int) -> list[int]:
    tree = _tree_of(parents)
    return list(tree.paths[node])


def _tree_of(parents: list[int]) -> Tree:
    """A :class:`Tree` from a parent list; each parent's children take ranks 0, 1, ... in order."""
    ranks, seen = [0], {}
    for p in parents[1:]:
        ranks.append(seen.get(p, 0))
        seen[p] = ranks[-1] + 1
    return Tree(tuple(parents), tuple(ranks))


# ----- exercise 1 (notebook 01): guess and verify on a chain ------------------------------------


def ref_chain_accept(draft: list[int], argmax: list[int]) -> list[int]:
    """trviz's answer: accepted draft tokens plus the bonus token, via ``trviz.verify.accept``."""
    import torch

    from trviz.tree_attention import TreeTensors
    from trviz.verify import accept

    tree = Tree.from_paths([(0,) * d for d in range(1, len(draft) + 1)], "chain")
    tt = TreeTensors.build(tree, "cpu")
    tokens = torch.tensor([-2, *draft])  # the root's own id plays no part in acceptance
    best = int(accept(tokens, torch.tensor(argmax), tt))
    return list(draft[:best]) + [argmax[best]]


CHAIN_CASES = [
    Case("every guess right", {"draft": [11, 12, 13], "argmax": [11, 12, 13, 14]}),
    Case("first guess wrong", {"draft": [11, 12, 13], "argmax": [20, 21, 22, 23]}),
    Case("wrong in the middle", {"draft": [11, 12, 13], "argmax": [11, 30, 13, 14]}),
    Case("right again after a miss", {"draft": [5, 6, 7, 8], "argmax": [5, 9, 7, 8, 4]}),
    Case("no draft at all", {"draft": [], "argmax": [42]}),
]


def _compare_committed(args: dict[str, Any], expected: list[int], got: Any) -> str | None:
    if problem := _type_problem(got, list, "a list of token ids"):
        return problem
    if got == expected:
        return None
    n_acc = len(expected) - 1
    return (
        f"should commit {expected} ({n_acc} draft token{'s' * (n_acc != 1)} accepted, then "
        f"the bonus token {expected[-1]}), yours commits {got}"
    )


def check_chain_accept(fn: Callable[[list[int], list[int]], list[int]]) -> Verdict:
    """Check ``fn(draft, argmax) -> committed tokens`` (accepted drafts + bonus).

    ``argmax[i]`` is the model's greedy next token after the root (i = 0) and after draft token
    ``draft[i - 1]``: one verification forward gives them all at once.
    """
    return _run(
        "chain_accept",
        fn,
        CHAIN_CASES,
        ref_chain_accept,
        _compare_committed,
        "walk the draft from the start; draft[i] is right when it equals argmax[i]. Stop "
        "at the first wrong one; the model's argmax at the stopping point is the bonus.",
    )


# ----- exercise 2 (notebook 02): recycle every node into the matrix -----------------------------


def ref_recycle(tokens: list[int], topk: list[list[int]], committed: list[int]) -> dict:
    """trviz's answer via ``trviz.matrix.write_winners`` + ``update``: ``{token: new row}``."""
    import torch

    from trviz.matrix import update, write_winners

    t = torch.tensor(tokens)
    on_path = torch.zeros(len(tokens), dtype=torch.bool)
    on_path[list(committed)] = True
    order = torch.arange(len(tokens))  # committed nodes are ancestors: later index = deeper
    winners = write_winners(t, on_path, order)
    vocab = max(max(tokens), max(max(r) for r in topk)) + 1
    table = torch.full((vocab, len(topk[0])), -1, dtype=torch.int32)
    update(table, t.clamp_min(0), torch.tensor(topk), winners)
    return {tok: table[tok].tolist() for tok in sorted({x for x in tokens if x >= 0})}


RECYCLE_CASES = [
    Case(
        "every token once",
        {"tokens": [3, 7, 9], "topk": [[7, 1], [9, 2], [4, 5]], "committed": [0, 1]},
    ),
    Case(
        "rejected nodes are recycled too",
        {"tokens": [3, 7, 8, 9], "topk": [[7, 8], [9, 1], [2, 6], [4, 5]], "committed": [0]},
    ),
    Case(
        "a repeated token: the committed node wins",
        {"tokens": [3, 5, 3, 6], "topk": [[5, 3], [6, 1], [2, 2], [4, 4]], "committed": [0, 1]},
    ),
    Case(
        "a repeated token off the path: the earliest node wins",
        {"tokens": [1, 2, 4, 4], "topk": [[2, 4], [4, 3], [6, 7], [8, 9]], "committed": [0, 1]},
    ),
    Case(
        "repeated on the path: the deepest committed node wins",
        {"tokens": [2, 2, 2, 5], "topk": [[2, 5], [2, 3], [7, 8], [1, 1]], "committed": [0, 1, 2]},
    ),
    Case(
        "unwritten slots (-1) write nothing",
        {"tokens": [4, -1, 6], "topk": [[6, 1], [2, 2], [3, 3]], "committed": [0]},
    ),
]


def _compare_rows(args: dict[str, Any], expected: dict, got: Any) -> str | None:
    if problem := _type_problem(got, dict, "a dict {token: new row}"):
        return problem
    for tok, row in expected.items():
        if tok not in got:
            return f"row {tok} should be rewritten to {row}, yours does not write it"
        if got[tok] != row:
            nodes = [i for i, t in enumerate(args["tokens"]) if t == tok]
            where = f"token {tok} sits at node{'s' * (len(nodes) > 1)} {nodes}"
            return f"row {tok} should become {row}, yours is {got[tok]} ({where})"
    extra = sorted(set(got) - set(expected), key=str)
    if extra:
        return f"yours also writes row {extra[0]}, which no drafted node carries"
    return None


def check_recycle(fn: Callable[[list[int], list[list[int]], list[int]], dict]) -> Verdict:
    """Check ``fn(tokens, topk, committed) -> {token: new row}``.

    ``tokens[i]`` is the token at tree node ``i`` (root at 0, ``-1`` = unwritten slot), ``topk[i]``
    the top-k ids of node ``i``'s logits, ``committed`` the node indices on the committed path
    (root first, increasing).
    """
    return _run(
        "recycle",
        fn,
        RECYCLE_CASES,
        ref_recycle,
        _compare_rows,
        "every node with a real token writes its top-k into row tokens[i]; when a token "
        "appears twice, a committed node beats the others, the deepest committed one wins, "
        "and among the rest the earliest node wins.",
    )


# ----- exercise 3 (notebook 03): fill the draft tree from the matrix ----------------------------


def ref_draft(rows: dict, root: int, parents: list[int], ranks: list[int]) -> list[int]:
    """trviz's answer via ``trviz.matrix.draft`` (missing rows are unwritten: ``-1``)."""
    import torch

    from trviz.matrix import draft

    k = max([max(ranks) + 1, *(len(r) for r in rows.values())])
    vocab = max([root, *rows, *(t for r in rows.values() for t in r)]) + 1
    table = torch.full((vocab, k), -1, dtype=torch.int32)
    for tok, row in rows.items():
        table[tok, : len(row)] = torch.tensor(row, dtype=torch.int32)
    tree = Tree(tuple(parents), tuple(ranks))
    par = torch.tensor((0,) + tree.parents[1:])
    return draft(table, torch.tensor(root), par, torch.tensor(ranks), tree.layers).tolist()


def _tree_args(tree: Tree) -> dict[str, list[int]]:
    return {"parents": list(tree.parents), "ranks": list(tree.ranks)}


_ROWS = {10: [11, 12, 13], 11: [14, 15, 16], 12: [17, 18, 19], 14: [20, 21, 22]}
DRAFT_CASES = [
    Case("one level", {"rows": _ROWS, "root": 10, **_tree_args(FAN_3)}),
    Case("a chain follows rank 0", {"rows": _ROWS, "root": 10, **_tree_args(CHAIN_3)}),
    Case("the hand-drawn tree", {"rows": _ROWS, "root": 10, **_tree_args(SMALL_TREE)}),
    Case(
        "an unwritten row leaves its subtree unwritten (-1)",
        {"rows": {10: [11, 12, 13], 11: [14, 15, 16]}, "root": 10, **_tree_args(SMALL_TREE)},
    ),
    Case("a cold start: nothing written yet", {"rows": {}, "root": 10, **_tree_args(FAN_3)}),
]


def _compare_tokens(args: dict[str, Any], expected: list[int], got: Any) -> str | None:
    if problem := _type_problem(got, list, "a list with one token per node"):
        return problem
    if len(got) != len(expected):
        return f"should return {len(expected)} tokens (root + every node), yours has {len(got)}"
    for i, (want, have) in enumerate(zip(expected, got, strict=True)):
        if want != have:
            what = "the root" if i == 0 else f"node {i} (path {_path(args['parents'], i)})"
            return f"{what} should carry token {want}, yours has {have}"
    return None


def check_draft(fn: Callable[[dict, int, list[int], list[int]], list[int]]) -> Verdict:
    """Check ``fn(rows, root, parents, ranks) -> tokens`` (root at index 0).

    ``rows[t]`` is the matrix row of token ``t`` (its candidates in rank order); a token with no
    entry was never written, so its children get ``-1``, and so do theirs.
    """
    return _run(
        "draft",
        fn,
        DRAFT_CASES,
        ref_draft,
        _compare_tokens,
        "go through the nodes in order (BFS: parents come first); node i reads "
        "rows[token of parents[i]][ranks[i]], or -1 when that row does not exist.",
    )


# ----- exercises 4 and 5 (notebook 04): the tree mask and the position ids ----------------------


def ref_tree_mask(parents: list[int]) -> list[list[bool]]:
    """trviz's answer via ``trviz.tree_attention.tree_mask`` (no prefix: the tree block only)."""
    import torch

    from trviz.tree_attention import TreeTensors, tree_mask

    tt = TreeTensors.build(_tree_of(parents), "cpu")
    return tree_mask(tt, 0, "bool", torch.float32)[0, 0].tolist()


def ref_positions(parents: list[int], prefix_len: int) -> list[int]:
    """trviz's answer via ``trviz.tree_attention.tree_positions``."""
    from trviz.tree_attention import TreeTensors, tree_positions

    return tree_positions(TreeTensors.build(_tree_of(parents), "cpu"), prefix_len)[0].tolist()


MASK_CASES = [
    Case("a chain: plain causal", {"parents": list(CHAIN_3.parents)}),
    Case("a fan: siblings never see each other", {"parents": list(FAN_3.parents)}),
    Case("the hand-drawn tree", {"parents": list(SMALL_TREE.parents)}),
]
POSITION_CASES = [
    Case("a chain after 5 prompt tokens", {"parents": list(CHAIN_3.parents), "prefix_len": 5}),
    Case("a fan after 9 tokens", {"parents": list(FAN_3.parents), "prefix_len": 9}),
    Case(
        "the hand-drawn tree after 12 tokens",
        {"parents": list(SMALL_TREE.parents), "prefix_len": 12},
    ),
]


def _compare_mask(args: dict[str, Any], expected: list[list[bool]], got: Any) -> str | None:
    if problem := _type_problem(got, list, "a list of rows (lists of bools)"):
        return problem
    n = len(expected)
    if len(got) != n or any(not isinstance(r, list) or len(r) != n for r in got):
        return f"should be {n} rows of {n} bools (one per tree token, root included)"
    parents = args["parents"]
    for i in range(n):
        for j in range(n):
            if bool(got[i][j]) != expected[i][j]:
                why = (
                    "itself"
                    if i == j
                    else f"its ancestor {j}"
                    if expected[i][j]
                    else f"node {j}, which is not its ancestor"
                )
                return (
                    f"row {i} (node {i}, path {_path(parents, i)}), column {j}: should be "
                    f"{expected[i][j]} (node {i} {'sees' if expected[i][j] else 'must not see'}"
                    f" {why}), yours is {bool(got[i][j])}"
                )
    return None


def _compare_positions(args: dict[str, Any], expected: list[int], got: Any) -> str | None:
    if problem := _type_problem(got, list, "a list of position ids"):
        return problem
    if len(got) != len(expected):
        return f"should return {len(expected)} position ids, yours has {len(got)}"
    for i, (want, have) in enumerate(zip(expected, got, strict=True)):
        if want != have:
            return (
                f"node {i} (path {_path(args['parents'], i)}) should sit at position {want}, "
                f"yours says {have}"
            )
    return None


def check_tree_mask(fn: Callable[[list[int]], list[list[bool]]]) -> Verdict:
    """Check ``fn(parents) -> mask``: ``mask[i][j]`` is True iff node i may attend to node j."""
    return _run(
        "tree_mask",
        fn,
        MASK_CASES,
        ref_tree_mask,
        _compare_mask,
        "node i sees itself and every ancestor (follow parents[] up to the root), "
        "nothing else: not its siblings, not their children.",
    )


def check_positions(fn: Callable[[list[int], int], list[int]]) -> Verdict:
    """Check ``fn(parents, prefix_len) -> position ids`` of root + nodes."""
    return _run(
        "positions",
        fn,
        POSITION_CASES,
        ref_positions,
        _compare_positions,
        "a node sits where it would sit in its own sequence: prefix length + its depth.",
    )


# ----- exercise 6 (notebook 04): the longest accepted path --------------------------------------


def ref_longest_accepted(tokens: list[int], argmax: list[int], parents: list[int]) -> int:
    """trviz's answer via ``trviz.verify.accept``: the deepest accepted node."""
    import torch

    from trviz.tree_attention import TreeTensors
    from trviz.verify import accept

    tt = TreeTensors.build(_tree_of(parents), "cpu")
    return int(accept(torch.tensor(tokens), torch.tensor(argmax), tt))


_SP = list(SMALL_TREE.parents)
ACCEPT_CASES = [
    Case(
        "nothing accepted",
        {
            "tokens": [10, 11, 12, 13, 14, 15, 16, 17],
            "argmax": [99, 98, 97, 96, 95, 94, 93, 92],
            "parents": _SP,
        },
    ),
    Case(
        "the first child, then stop",
        {
            "tokens": [10, 11, 12, 13, 14, 15, 16, 17],
            "argmax": [11, 50, 51, 52, 53, 54, 55, 56],
            "parents": _SP,
        },
    ),
    Case(
        "the second branch goes deeper",
        {
            "tokens": [10, 11, 12, 13, 14, 15, 16, 17],
            "argmax": [12, 60, 16, 61, 62, 63, 64, 65],
            "parents": _SP,
        },
    ),
    Case(
        "all the way down [0,0,0]",
        {
            "tokens": [10, 11, 12, 13, 14, 15, 16, 17],
            "argmax": [11, 14, 70, 71, 17, 72, 73, 74],
            "parents": _SP,
        },
    ),
    Case(
        "a right token under a wrong parent does not count",
        {
            "tokens": [10, 11, 12, 13, 14, 15, 16, 17],
            "argmax": [13, 14, 80, 81, 17, 82, 83, 84],
            "parents": _SP,
        },
    ),
    Case(
        "the other child of node 1",
        {
            "tokens": [10, 11, 12, 13, 14, 15, 16, 17],
            "argmax": [11, 15, 90, 91, 92, 93, 94, 95],
            "parents": _SP,
        },
    ),
    Case(
        "two equally deep paths: the first in BFS order",
        {
            "tokens": [10, 11, 11, 13, 14, 15, 16, 17],
            "argmax": [11, 14, 16, 90, 91, 92, 93, 94],
            "parents": _SP,
        },
    ),
]


def _compare_node(args: dict[str, Any], expected: int, got: Any) -> str | None:
    if isinstance(got, bool) or not isinstance(got, int):
        return f"should return a node index (int), yours returned {type(got).__name__} {got!r}"
    if got == expected:
        return None
    parents = args["parents"]
    tokens = args["tokens"]
    accepted = [tokens[n] for n in _tree_of(parents).ancestors[expected][1:]]
    return (
        f"the deepest accepted node is {expected} (path {_path(parents, expected)}, commits "
        f"{accepted} + bonus {args['argmax'][expected]}), yours says {got}"
    )


def check_longest_accepted(fn: Callable[[list[int], list[int], list[int]], int]) -> Verdict:
    """Check ``fn(tokens, argmax, parents) -> node index`` of the deepest accepted node.

    Node i is right when ``tokens[i] == argmax[parents[i]]``; it is accepted when it and all its
    ancestors are right. Ties go to the node that comes first (BFS order); the root (0) means
    nothing was accepted.
    """
    return _run(
        "longest_accepted",
        fn,
        ACCEPT_CASES,
        ref_longest_accepted,
        _compare_node,
        "check every node: right = tokens[i] == argmax[parents[i]]; accepted = right and "
        "its parent accepted (the root always is). Return the deepest accepted node, the "
        "first one in index order on a tie.",
    )


# ----- exercise 7 (notebook 07): lossless sampling, a walk down the tree ------------------------


def ref_sample_walk(tokens: list[int], parents: list[int], samples: list[int]) -> list[int]:
    """trviz's answer via ``trviz.sampling.first_siblings`` + ``trviz.verify.accept``."""
    import torch

    from trviz.sampling import first_siblings
    from trviz.tree_attention import TreeTensors
    from trviz.verify import accept

    tree = _tree_of(parents)
    tt = TreeTensors.build(tree, "cpu")
    followable = first_siblings(torch.tensor(tokens), tt.parents_ext)
    best = int(accept(followable, torch.tensor(samples), tt))
    return [tokens[n] for n in tree.ancestors[best][1:]] + [samples[best]]


_WALK_TOKENS = [10, 11, 12, 13, 14, 15, 16, 17]
WALK_CASES = [
    Case(
        "the root's sample is no child: only the bonus",
        {"tokens": _WALK_TOKENS, "parents": _SP, "samples": [40, 41, 42, 43, 44, 45, 46, 47]},
    ),
    Case(
        "follow the sampled child, twice",
        {"tokens": _WALK_TOKENS, "parents": _SP, "samples": [11, 15, 42, 43, 44, 45, 46, 47]},
    ),
    Case(
        "down to the leaf, whose sample is the bonus",
        {"tokens": _WALK_TOKENS, "parents": _SP, "samples": [11, 14, 42, 43, 17, 45, 46, 48]},
    ),
    Case(
        "a grandchild's token does not count",
        {"tokens": _WALK_TOKENS, "parents": _SP, "samples": [14, 41, 42, 43, 44, 45, 46, 47]},
    ),
    Case(
        "two siblings carry the sample: only the first copy is followed",
        {
            "tokens": [10, 11, 11, 13, 14, 15, 16, 17],
            "parents": _SP,
            "samples": [11, 50, 16, 43, 44, 45, 46, 47],
        },
    ),
]


def check_sample_walk(fn: Callable[[list[int], list[int], list[int]], list[int]]) -> Verdict:
    """Check ``fn(tokens, parents, samples) -> committed tokens`` (accepted drafts + bonus).

    ``samples[i]`` is the token drawn from the model's distribution at node ``i``. Start at the
    root; if a child of the current node carries its sample (the first such child in BFS order),
    move to it and repeat; otherwise the current node's sample is the bonus token.
    """
    return _run(
        "sample_walk",
        fn,
        WALK_CASES,
        ref_sample_walk,
        _compare_committed,
        "start at node 0 with x = samples[0]; look for a child c of the current node with "
        "tokens[c] == x (take the first); move there and set x = samples[c]; when no child "
        "matches, x is the bonus. Commit the tokens of the nodes you moved through, then x.",
    )


REFERENCES: dict[str, Callable] = {
    "chain_accept": ref_chain_accept,
    "recycle": ref_recycle,
    "draft": ref_draft,
    "tree_mask": ref_tree_mask,
    "positions": ref_positions,
    "longest_accepted": ref_longest_accepted,
    "sample_walk": ref_sample_walk,
}
CHECKERS: dict[str, Callable[[Callable], Verdict]] = {
    "chain_accept": check_chain_accept,
    "recycle": check_recycle,
    "draft": check_draft,
    "tree_mask": check_tree_mask,
    "positions": check_positions,
    "longest_accepted": check_longest_accepted,
    "sample_walk": check_sample_walk,
}
