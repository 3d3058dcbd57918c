"""Exercises on the whole loop and its cost: the MAT a tree should give (05), where a step's
tokens stop (05), the speedup a tree should give on this machine (06), and which tree to pick
from a cost curve and measured MATs (06)."""

from __future__ import annotations

import copy
import math
from typing import Any

from tr_notebooks.checkers.core import Case, Exercise, Mistake, type_problem
from trviz.trees import Tree

# ----- 05: the MAT a tree should give, from per-rank acceptance rates ---------------------------


def ref_expected_mat(paths: list[list[int]], rates: list[float]) -> float:
    """trviz's model of a tree (``Tree.from_acceptance``): a node is reached with the product of
    its path's rank rates; expected tokens per step = 1 (the bonus) + the sum over nodes."""
    tree = Tree.from_paths(paths)
    return 1.0 + sum(math.prod(rates[r] for r in p) for p in tree.paths[1:])


def expected_mat(paths: list[list[int]], rates: list[float], bonus: float = 1.0) -> float:
    total = bonus
    for path in paths:
        p = 1.0
        for r in path:
            p *= rates[r]
        total += p
    return total


def explain_float(args: dict[str, Any], expected: float, got: Any) -> str | None:
    if isinstance(got, bool) or not isinstance(got, (int, float)):
        return f"should return a number, yours returned {type(got).__name__} {got!r}"
    if math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
        return None
    return f"should be {expected:.4f}, yours is {got:.4f}"


_RATES = [0.5, 0.2, 0.1]
EXPECTED_MAT = Exercise(
    name="expected_mat",
    notebook="05",
    task="fn(paths, rates) -> expected tokens committed per step (MAT) under per-rank rates",
    reference=ref_expected_mat,
    solution=expected_mat,
    cases=(
        Case("no draft: only the bonus", {"paths": [], "rates": _RATES}),
        Case("one guess", {"paths": [[0]], "rates": _RATES}),
        Case("a chain of three", {"paths": [[0], [0, 0], [0, 0, 0]], "rates": _RATES}),
        Case("a fan of three", {"paths": [[0], [1], [2]], "rates": _RATES}),
        Case(
            "a small tree",
            {"paths": [[0], [1], [0, 0], [0, 1], [1, 0], [0, 0, 0]], "rates": _RATES},
        ),
    ),
    explain=explain_float,
    tolerant=True,
    hint="a node is accepted when every rank on its path is right: multiply the rates along "
    "its path; the expected number of accepted drafts is the sum over nodes; add 1 for the "
    "bonus token.",
    mistakes=(
        Mistake(
            "the bonus token was not counted",
            lambda paths, rates: expected_mat(paths, rates, bonus=0.0),
            "every step commits one more token than it accepts: the bonus. Add 1.",
        ),
        Mistake(
            "only the node's own rank was counted, not its whole path",
            lambda paths, rates: 1.0 + sum(rates[p[-1]] for p in paths),
            "a node is reached only if its parent was right too (a right token under a wrong "
            "parent is rejected): multiply the rates of every rank on the path.",
        ),
        Mistake(
            "one rate too many per node (depth off by one)",
            lambda paths, rates: (
                1.0 + sum(rates[0] * math.prod(rates[r] for r in p) for p in paths)
            ),
            "a path of depth d has d ranks, one rate each; the root needs no guess.",
        ),
    ),
)

# ----- 05: where a step's committed tokens stop -------------------------------------------------


def ref_commit(tokens: list[int], eos: list[int], budget: int) -> list:
    """trviz's answer (``trviz.decode``'s cut of a step's tokens): ``[kept, finish]``."""
    from trviz.decode import _commit

    kept, finish = _commit(list(tokens), frozenset(eos), budget)
    return [kept, finish]


def commit(tokens: list[int], eos: list[int], budget: int) -> list:
    for i, t in enumerate(tokens[:budget]):
        if t in eos:
            return [tokens[: i + 1], "eos"]
    if len(tokens) >= budget:
        return [tokens[:budget], "length"]
    return [tokens, None]


def explain_commit(args: dict[str, Any], expected: list, got: Any) -> str | None:
    if problem := type_problem(got, list, "(kept tokens, finish reason)"):
        return problem
    if len(got) != 2:
        return f"should return two things (kept tokens, finish reason), yours has {len(got)}"
    if got == expected:
        return None
    kept, finish = expected
    return f"should keep {kept} and finish with {finish!r}, yours keeps {got[0]} with {got[1]!r}"


COMMIT = Exercise(
    name="commit",
    notebook="05",
    task="fn(tokens, eos, budget) -> (kept tokens, finish: 'eos', 'length' or None)",
    reference=ref_commit,
    solution=commit,
    cases=(
        Case("room left, no end", {"tokens": [5, 6, 7], "eos": [2], "budget": 10}),
        Case("the budget cuts the step", {"tokens": [5, 6, 7, 8], "eos": [2], "budget": 2}),
        Case("exactly the budget", {"tokens": [5, 6, 7], "eos": [2], "budget": 3}),
        Case("an end token in the middle", {"tokens": [5, 2, 7, 8], "eos": [2], "budget": 10}),
        Case("the end token is kept", {"tokens": [2], "eos": [0, 2], "budget": 10}),
        Case("the budget comes first", {"tokens": [5, 6, 2], "eos": [2], "budget": 2}),
    ),
    explain=explain_commit,
    hint="walk the step's tokens up to the budget; at the first end-of-sequence token keep it "
    "and stop ('eos'); if the budget is used up, stop there ('length'); otherwise keep all "
    "(None: decoding goes on).",
    mistakes=(
        Mistake(
            "the whole step was kept past the budget (the reference code's overshoot)",
            lambda tokens, eos, budget: commit(tokens, eos, len(tokens) + budget),
            "a step can accept up to depth + 1 tokens; the reference implementation keeps "
            "them all and overshoots max_new_tokens. Cut at the budget.",
        ),
        Mistake(
            "tokens after the end token were kept",
            lambda tokens, eos, budget: [tokens[:budget], _finish(tokens, eos, budget)],
            "everything after an accepted end-of-sequence token is discarded (the reference "
            "code counts them): cut right after it.",
        ),
        Mistake(
            "the end token itself was dropped",
            lambda tokens, eos, budget: _drop_eos(commit(tokens, eos, budget)),
            "keep the end-of-sequence token: it is part of the model's answer (as in "
            "greedy decoding and Hugging Face generate).",
        ),
    ),
)


def _finish(tokens: list[int], eos: list[int], budget: int) -> str | None:
    return commit(tokens, eos, budget)[1]


def _drop_eos(result: list) -> list:
    kept, finish = result
    return [kept[:-1], finish] if finish == "eos" else result


# ----- 06: the speedup a tree should give here --------------------------------------------------


def ref_predicted_speedup(mat: float, cost_1: float, cost_q: float, overhead: float) -> float:
    """trviz's answer via ``trviz.bench.sweep.best_measured_tree`` on a one-tree sweep."""
    from trviz.bench.sweep import best_measured_tree

    trees = {"t": {"size": 2, "mat": mat, "overhead_s": overhead}}
    best_measured_tree({1: cost_1, 2: cost_q}, trees)
    return trees["t"]["predicted_speedup"]


def predicted_speedup(mat: float, cost_1: float, cost_q: float, overhead: float) -> float:
    return mat * cost_1 / (cost_q + overhead)


PREDICTED_SPEEDUP = Exercise(
    name="predicted_speedup",
    notebook="06",
    task="fn(mat, cost_1, cost_q, overhead) -> predicted speedup over plain decoding",
    reference=ref_predicted_speedup,
    solution=predicted_speedup,
    cases=(
        Case(
            "a GPU: the tree forward is free",
            {"mat": 2.7, "cost_1": 0.02, "cost_q": 0.02, "overhead": 0.0},
        ),
        Case(
            "the paper's tree on this CPU",
            {"mat": 2.32, "cost_1": 0.0624, "cost_q": 0.298, "overhead": 0.007},
        ),
        Case(
            "a small tree on this CPU",
            {"mat": 2.17, "cost_1": 0.0624, "cost_q": 0.119, "overhead": 0.002},
        ),
        Case("no gain at all", {"mat": 1.0, "cost_1": 0.05, "cost_q": 0.05, "overhead": 0.0}),
    ),
    explain=explain_float,
    tolerant=True,
    hint="plain decoding commits 1 token per cost_1 seconds; a TR step commits MAT tokens per "
    "cost_q + overhead seconds. The speedup is the ratio of those rates.",
    mistakes=(
        Mistake(
            "MAT minus the extra cost of the bigger forward",
            lambda mat, cost_1, cost_q, overhead: mat - (cost_q + overhead - cost_1) / cost_1,
            "costs divide, they do not subtract: speedup = (MAT / step time) / (1 / cost_1) "
            "= MAT x cost_1 / (cost_q + overhead).",
        ),
        Mistake(
            "the per-step overhead was left out",
            lambda mat, cost_1, cost_q, overhead: mat * cost_1 / cost_q,
            "a step also drafts, verifies, compacts and updates: add the overhead to the "
            "forward's time.",
        ),
        Mistake(
            "the ratio is upside down",
            lambda mat, cost_1, cost_q, overhead: (cost_q + overhead) / (mat * cost_1),
            "a speedup above 1 means faster: tokens per second of TR over tokens per second "
            "of plain decoding.",
        ),
    ),
)

# ----- 06: which tree to pick from a cost curve and measured MATs -------------------------------


def ref_pick_tree(cost: dict[int, float], trees: dict[str, dict[str, float]]) -> str:
    """trviz's answer via ``trviz.bench.sweep.best_measured_tree`` (the sweep's own choice)."""
    from trviz.bench.sweep import best_measured_tree

    return best_measured_tree(dict(cost), copy.deepcopy(trees))


def pick_tree(cost: dict[int, float], trees: dict[str, dict[str, float]], score=None) -> str:
    def speedup(t: dict[str, float]) -> float:
        return predicted_speedup(t["mat"], cost[1], cost[t["size"]], t["overhead_s"])

    best = None
    for name, t in trees.items():
        s = (score or speedup)(t)
        if best is None or s > best[0]:
            best = (s, name)
    return best[1]


def explain_pick(args: dict[str, Any], expected: str, got: Any) -> str | None:
    if got == expected:
        return None
    if got not in args["trees"]:
        return f"should return a tree name from {list(args['trees'])}, yours returned {got!r}"
    return f"the fastest tree here should be {expected!r}, yours picks {got!r}"


_COST = {1: 0.062, 10: 0.112, 14: 0.118, 22: 0.135, 84: 0.298}
_TREES = {
    "chain-4": {"size": 10, "mat": 1.62, "overhead_s": 0.002},
    "tr-8": {"size": 14, "mat": 1.76, "overhead_s": 0.002},
    "tr-16": {"size": 22, "mat": 1.90, "overhead_s": 0.003},
    "2.2.2": {"size": 84, "mat": 2.35, "overhead_s": 0.007},
}
_GPU = {1: 0.020, 10: 0.020, 14: 0.020, 22: 0.021, 84: 0.023}
_GPU_TREES = {name: {**t, "overhead_s": 0.0005} for name, t in _TREES.items()}
_CLOSE = {1: 0.040, 14: 0.050, 44: 0.104, 84: 0.200}
_CLOSE_TREES = {
    "tr-8": {"size": 14, "mat": 1.5, "overhead_s": 0.0},
    "tr-40": {"size": 44, "mat": 3.0, "overhead_s": 0.0},
    "2.2.2": {"size": 84, "mat": 3.5, "overhead_s": 0.0},
}
PICK_TREE = Exercise(
    name="pick_tree",
    notebook="06",
    task="fn(cost, trees) -> the name of the tree with the best predicted speedup",
    reference=ref_pick_tree,
    solution=pick_tree,
    cases=(
        Case("this CPU in fp32 (the tree sweep)", {"cost": _COST, "trees": _TREES}),
        Case(
            "a GPU: a forward over 84 tokens costs little more",
            {"cost": _GPU, "trees": _GPU_TREES},
        ),
        Case("a made-up close call", {"cost": _CLOSE, "trees": _CLOSE_TREES}),
    ),
    explain=explain_pick,
    hint="for every tree: predicted speedup = MAT x cost[1] / (cost[size] + overhead_s); "
    "return the name of the largest.",
    mistakes=(
        Mistake(
            "the tree with the highest MAT was picked, whatever it costs",
            lambda cost, trees: max(trees, key=lambda n: trees[n]["mat"]),
            "MAT counts tokens per forward, not per second: on a CPU the biggest tree's "
            "forward costs several one-token forwards. Divide by the step's cost.",
        ),
        Mistake(
            "the cheapest tree was picked, whatever it accepts",
            lambda cost, trees: min(trees, key=lambda n: trees[n]["size"]),
            "on a GPU a bigger tree costs almost nothing more and accepts more: weigh MAT "
            "against cost, both.",
        ),
        Mistake(
            "trees were ranked by MAT minus the extra cost",
            lambda cost, trees: pick_tree(
                cost,
                trees,
                score=lambda t: t["mat"] - (cost[t["size"]] + t["overhead_s"] - cost[1]) / cost[1],
            ),
            "costs divide, they do not subtract: MAT x cost[1] / (cost[size] + overhead_s).",
        ),
    ),
)

EXERCISES = (EXPECTED_MAT, COMMIT, PREDICTED_SPEEDUP, PICK_TREE)
