"""Verification exercises: the accepted prefix of a chain (01), the longest accepted path of a
tree (04), and the sampling walk (07)."""

from __future__ import annotations

from typing import Any

from tr_notebooks.checkers.core import (
    SP,
    Case,
    Exercise,
    Mistake,
    ancestors,
    depth,
    path_of,
    tree_of,
    type_problem,
)
from trviz.trees import Tree

# ----- 01: guess and verify on a chain ----------------------------------------------------------


def ref_chain_accept(draft: list[int], argmax: list[int]) -> list[int]:
    """trviz's answer: accepted draft tokens plus the bonus token, via ``trviz.verify.accept``."""
    import torch

    from trviz.tree_attention import TreeTensors
    from trviz.verify import accept

    tree = Tree.from_paths([(0,) * d for d in range(1, len(draft) + 1)], "chain")
    tokens = torch.tensor([-2, *draft])  # the root's own id plays no part in acceptance
    best = int(accept(tokens, torch.tensor(argmax), TreeTensors.build(tree, "cpu")))
    return list(draft[:best]) + [argmax[best]]


def chain_accept(draft: list[int], argmax: list[int]) -> list[int]:
    n = 0
    while n < len(draft) and draft[n] == argmax[n]:
        n += 1
    return draft[:n] + [argmax[n]]


def _accepted(draft: list[int], argmax: list[int]) -> int:
    return len(chain_accept(draft, argmax)) - 1


def explain_committed(args: dict[str, Any], expected: list[int], got: Any) -> str | None:
    if problem := type_problem(got, list, "a list of token ids"):
        return problem
    if got == expected:
        return None
    n = len(expected) - 1
    return (
        f"should commit {expected} ({n} draft token{'s' * (n != 1)} accepted, then the bonus "
        f"token {expected[-1]}), yours commits {got}"
    )


CHAIN_ACCEPT = Exercise(
    name="chain_accept",
    notebook="01",
    task="fn(draft, argmax) -> committed tokens (accepted drafts, then the bonus)",
    reference=ref_chain_accept,
    solution=chain_accept,
    cases=(
        Case("every guess right", {"draft": [11, 12, 13], "argmax": [11, 12, 13, 14]}),
        Case("first guess wrong", {"draft": [11, 12, 13], "argmax": [20, 21, 22, 23]}),
        Case("wrong in the middle", {"draft": [11, 12, 13], "argmax": [11, 30, 13, 14]}),
        Case("right again after a miss", {"draft": [5, 6, 7, 8], "argmax": [5, 9, 7, 8, 4]}),
        Case("no draft at all", {"draft": [], "argmax": [42]}),
    ),
    explain=explain_committed,
    hint="walk the draft from the start; draft[i] is right when it equals argmax[i]. Stop at "
    "the first wrong one; the model's argmax at the stopping point is the bonus.",
    mistakes=(
        Mistake(
            "the bonus token is missing",
            lambda draft, argmax: draft[: _accepted(draft, argmax)],
            "after the accepted drafts, also commit argmax[n] (n = drafts accepted): the "
            "model's own next token at the stopping point, free with the same forward.",
        ),
        Mistake(
            "drafts after a wrong one were accepted",
            lambda draft, argmax: (
                [t for t, a in zip(draft, argmax) if t == a]
                + [argmax[sum(t == a for t, a in zip(draft, argmax))]]
            ),
            "stop at the first wrong draft: everything after it was computed on a context "
            "the model would never have written, so it is thrown away even when it matches.",
        ),
        Mistake(
            "the bonus is taken one position too far",
            lambda draft, argmax: (
                draft[: _accepted(draft, argmax)]
                + [argmax[min(_accepted(draft, argmax) + 1, len(argmax) - 1)]]
            ),
            "with n drafts accepted the bonus is argmax[n] (the model's token after the last "
            "accepted draft), not argmax[n + 1].",
        ),
        Mistake(
            "draft[i] compared with argmax[i + 1] (one position off)",
            lambda draft, argmax: _shifted(draft, argmax),
            "argmax[i] is the model's token after the root (i = 0) or after draft[i - 1]: "
            "draft[i] guesses that same position, so compare draft[i] with argmax[i].",
        ),
        Mistake(
            "the wrong draft is committed instead of the model's token",
            lambda draft, argmax: (
                draft[: _accepted(draft, argmax) + 1]
                if _accepted(draft, argmax) < len(draft)
                else draft + [argmax[-1]]
            ),
            "at the first wrong draft, commit what the model wanted there (argmax[n]), not "
            "the rejected guess.",
        ),
    ),
)


def _shifted(draft: list[int], argmax: list[int]) -> list[int]:
    """The chain rule with every comparison one position off (a common first attempt)."""
    n = 0
    while n < len(draft) and n + 1 < len(argmax) and draft[n] == argmax[n + 1]:
        n += 1
    return draft[:n] + [argmax[min(n + 1, len(argmax) - 1)]]


# ----- 04: the longest accepted path ------------------------------------------------------------


def ref_longest_accepted(tokens: list[int], argmax: list[int], parents: list[int]) -> int:
    """trviz's answer via ``trviz.verify.accept``: the deepest accepted node."""
    import torch

    from trviz.tree_attention import TreeTensors
    from trviz.verify import accept

    tt = TreeTensors.build(tree_of(parents), "cpu")
    return int(accept(torch.tensor(tokens), torch.tensor(argmax), tt))


def longest_accepted(tokens: list[int], argmax: list[int], parents: list[int]) -> int:
    ok = [True] + [False] * (len(tokens) - 1)
    best = 0
    for i in range(1, len(tokens)):
        ok[i] = ok[parents[i]] and tokens[i] == argmax[parents[i]]
        if ok[i] and depth(parents, i) > depth(parents, best):
            best = i
    return best


def _deepest(parents: list[int], nodes: list[int], last: bool = False) -> int:
    """The deepest of ``nodes`` (root if none); ties to the first, or the last when ``last``."""
    best = 0
    for i in nodes:
        d, b = depth(parents, i), depth(parents, best)
        if d > b or (last and d == b and i > best):
            best = i
    return best


def _right(tokens: list[int], argmax: list[int], parents: list[int]) -> list[int]:
    return [i for i in range(1, len(tokens)) if tokens[i] == argmax[parents[i]]]


def explain_node(args: dict[str, Any], expected: int, got: Any) -> str | None:
    if isinstance(got, bool) or not isinstance(got, int):
        return f"should return a node index (int), yours returned {type(got).__name__} {got!r}"
    if got == expected:
        return None
    parents, tokens = args["parents"], args["tokens"]
    accepted = [tokens[n] for n in ancestors(parents, expected)[1:]]
    return (
        f"the deepest accepted node is {expected} (path {path_of(parents, expected)}, commits "
        f"{accepted} + bonus {args['argmax'][expected]}), yours says {got}"
    )


_TOKENS = [10, 11, 12, 13, 14, 15, 16, 17]
LONGEST_ACCEPTED = Exercise(
    name="longest_accepted",
    notebook="04",
    task="fn(tokens, argmax, parents) -> index of the deepest accepted node",
    reference=ref_longest_accepted,
    solution=longest_accepted,
    cases=(
        Case(
            "nothing accepted",
            {"tokens": _TOKENS, "argmax": [99, 98, 97, 96, 95, 94, 93, 92], "parents": SP},
        ),
        Case(
            "the first child, then stop",
            {"tokens": _TOKENS, "argmax": [11, 50, 51, 52, 53, 54, 55, 56], "parents": SP},
        ),
        Case(
            "the second branch goes deeper",
            {"tokens": _TOKENS, "argmax": [12, 60, 16, 61, 62, 63, 64, 65], "parents": SP},
        ),
        Case(
            "all the way down [0,0,0]",
            {"tokens": _TOKENS, "argmax": [11, 14, 70, 71, 17, 72, 73, 74], "parents": SP},
        ),
        Case(
            "a right token under a wrong parent does not count",
            {"tokens": _TOKENS, "argmax": [13, 14, 80, 81, 17, 82, 83, 84], "parents": SP},
        ),
        Case(
            "the other child of node 1",
            {"tokens": _TOKENS, "argmax": [11, 15, 90, 91, 92, 93, 94, 95], "parents": SP},
        ),
        Case(
            "two equally deep paths: the first in BFS order",
            {
                "tokens": [10, 11, 11, 13, 14, 15, 16, 17],
                "argmax": [11, 14, 16, 90, 91, 92, 93, 94],
                "parents": SP,
            },
        ),
    ),
    explain=explain_node,
    hint="check every node: right = tokens[i] == argmax[parents[i]]; accepted = right and its "
    "parent accepted (the root always is). Return the deepest accepted node, the first one in "
    "index order on a tie.",
    mistakes=(
        Mistake(
            "a right token under a wrong parent was accepted",
            lambda tokens, argmax, parents: _deepest(parents, _right(tokens, argmax, parents)),
            "a node is accepted only when its whole path is right: check its parent was "
            "accepted too (its logits assume every ancestor was the real text).",
        ),
        Mistake(
            "each node compared with its own argmax (one position off)",
            lambda tokens, argmax, parents: _deepest(
                parents, _accepted_nodes(tokens, argmax, parents, own=True)
            ),
            "argmax[p] is the model's next token AFTER node p: a child c is right when "
            "tokens[c] == argmax[parents[c]], not argmax[c] (that one is about c's own child).",
        ),
        Mistake(
            "a tie went to the last node instead of the first",
            lambda tokens, argmax, parents: _deepest(
                parents, _accepted_nodes(tokens, argmax, parents), last=True
            ),
            "when two accepted paths are equally deep, keep the first in index (BFS) order.",
        ),
        Mistake(
            "the depth was returned instead of the node index",
            lambda tokens, argmax, parents: depth(
                parents, longest_accepted(tokens, argmax, parents)
            ),
            "return the index of the deepest accepted node (into tokens), not its depth.",
        ),
    ),
)


def _accepted_nodes(
    tokens: list[int], argmax: list[int], parents: list[int], own: bool = False
) -> list[int]:
    """Accepted drafts; ``own`` compares each node with its own argmax (the mistake)."""
    ok = {0}
    for i in range(1, len(tokens)):
        if parents[i] in ok and tokens[i] == argmax[i if own else parents[i]]:
            ok.add(i)
    return sorted(ok - {0})


# ----- 07: the sampling walk --------------------------------------------------------------------


def ref_sample_walk(tokens: list[int], parents: list[int], samples: list[int]) -> list[int]:
    """trviz's answer via ``trviz.sampling.first_siblings`` + ``trviz.verify.accept``."""
    import torch

    from trviz.sampling import first_siblings
    from trviz.tree_attention import TreeTensors
    from trviz.verify import accept

    tree = tree_of(parents)
    tt = TreeTensors.build(tree, "cpu")
    followable = first_siblings(torch.tensor(tokens), tt.parents_ext)
    best = int(accept(followable, torch.tensor(samples), tt))
    return [tokens[n] for n in tree.ancestors[best][1:]] + [samples[best]]


def sample_walk(tokens: list[int], parents: list[int], samples: list[int], last=False) -> list:
    node, out = 0, []
    while True:
        x = samples[node]
        kids = [c for c in range(1, len(tokens)) if parents[c] == node and tokens[c] == x]
        if not kids:
            return out + [x]
        out.append(x)
        node = kids[-1] if last else kids[0]


SAMPLE_WALK = Exercise(
    name="sample_walk",
    notebook="07",
    task="fn(tokens, parents, samples) -> committed tokens (drafts walked through, then bonus)",
    reference=ref_sample_walk,
    solution=sample_walk,
    cases=(
        Case(
            "the root's sample is no child: only the bonus",
            {"tokens": _TOKENS, "parents": SP, "samples": [40, 41, 42, 43, 44, 45, 46, 47]},
        ),
        Case(
            "follow the sampled child, twice",
            {"tokens": _TOKENS, "parents": SP, "samples": [11, 15, 42, 43, 44, 45, 46, 47]},
        ),
        Case(
            "down to the leaf, whose sample is the bonus",
            {"tokens": _TOKENS, "parents": SP, "samples": [11, 14, 42, 43, 17, 45, 46, 48]},
        ),
        Case(
            "a grandchild's token does not count",
            {"tokens": _TOKENS, "parents": SP, "samples": [14, 41, 42, 43, 44, 45, 46, 47]},
        ),
        Case(
            "two siblings carry the sample: only the first copy is followed",
            {
                "tokens": [10, 11, 11, 13, 14, 15, 16, 17],
                "parents": SP,
                "samples": [11, 50, 16, 43, 44, 45, 46, 47],
            },
        ),
    ),
    explain=explain_committed,
    hint="start at node 0 with x = samples[0]; look for a child c of the current node with "
    "tokens[c] == x (take the first); move there and set x = samples[c]; when no child "
    "matches, x is the bonus. Commit the tokens of the nodes you moved through, then x.",
    mistakes=(
        Mistake(
            "the bonus token is missing",
            lambda tokens, parents, samples: sample_walk(tokens, parents, samples)[:-1],
            "when no child carries the current sample, that sample is still committed: it is "
            "a draw from the model's distribution at the node where the walk stopped.",
        ),
        Mistake(
            "the walk kept the root's sample at every node",
            lambda tokens, parents, samples: sample_walk(
                tokens, parents, [samples[0]] * len(samples)
            ),
            "after moving to child c, the next token is drawn at c: use samples[c], not the "
            "root's sample.",
        ),
        Mistake(
            "the last sibling carrying the sample was followed",
            lambda tokens, parents, samples: sample_walk(tokens, parents, samples, last=True),
            "follow the FIRST child carrying the sample: letting the walk pick among copies "
            "gives it two chances to go deep, which biases the output distribution.",
        ),
    ),
)

EXERCISES = (CHAIN_ACCEPT, LONGEST_ACCEPTED, SAMPLE_WALK)
