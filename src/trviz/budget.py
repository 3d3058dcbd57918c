"""The per-step budget: which drafted nodes are worth verifying this step (a dynamic tree).

Every step the drafters propose more than is worth verifying: the matrix fills a *candidate
template* breadth-first (as the paper fills its tree) and the matcher proposes copied
continuations of the longest earlier match (:mod:`trviz.lookup`). Both go into one trie
(:func:`candidates`; a token proposed by both becomes one node), and every node gets

    p(node) = P(node accepted) = product over its path of P(correct | parent accepted),

the factors read from running estimates per node class (:mod:`trviz.acceptance`). Verifying the
``n`` nodes of highest ``p`` commits ``1 + sum(p)`` tokens on average (the bonus token included;
siblings carry distinct tokens, so at most one path is accepted) and costs one step over
``q = n + 1`` tokens at the current context length (:mod:`trviz.cost`). :func:`choose` keeps the
``n`` that maximises expected tokens per second, so where nothing is predictable it verifies the
root alone (a plain one-token forward), where a long match is copied it verifies a long chain,
and on a GPU, where a forward over dozens of tokens costs what one costs, it keeps large trees.
Keeping nodes by ``p`` keeps the tree prefix-closed (a child's ``p`` never exceeds its parent's).

The choice reads only past steps (estimates, matrix, context), never the step's own model output,
so verification stays exact, greedy or sampled. After the step, :func:`score` tells the
estimates which candidates, kept or pruned, were correct. Plain lists; stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from trviz.acceptance import Acceptance
from trviz.lookup import Copies
from trviz.trees import Tree


@dataclass
class Candidates:
    """The step's candidate trie; index 0 is the root, parents come before children.

    ``ranks[i]``: the column of the parent's matrix row node ``i`` was drafted from, or
    ``k + branch`` for a node only the matcher proposed. ``classes[i]``: the estimate classes that
    proposed it (one matrix and/or one copy class). ``p[i]``: P(node accepted).
    """

    tokens: list[int]
    parents: list[int]
    depths: list[int]
    ranks: list[int]
    classes: list[tuple[int, ...]]
    p: list[float]
    copied: list[bool]
    children: list[dict[int, int]] = field(repr=False)
    match_len: int = 0

    def __len__(self) -> int:
        return len(self.tokens)


@dataclass(frozen=True)
class Selection:
    """The budget's decision: the verified tree (root + kept nodes, BFS order) and its figures.

    ``nodes``: candidate indices of the verified tree's nodes, root first. ``gain``: predicted
    tokens committed (bonus included); ``cost``: predicted step seconds; ``candidates``: nodes
    drafted before pruning (root excluded).
    """

    nodes: tuple[int, ...]
    gain: float
    cost: float
    candidates: int

    @property
    def kept(self) -> int:
        """Drafted nodes verified (root excluded)."""
        return len(self.nodes) - 1


class TemplateClasses:
    """Per-run constants of a candidate template: each node's parent and matrix class."""

    def __init__(self, template: Tree, est: Acceptance):
        self.template = template
        self.parents = template.parents
        self.ranks = template.ranks
        self.depths = template.depths
        self.classes = tuple(
            est.matrix_class(d, r) if i else -1
            for i, (d, r) in enumerate(zip(template.depths, template.ranks))
        )


def candidates(
    root: int,
    tc: TemplateClasses,
    drafted: list[int],
    copies: Copies,
    est: Acceptance,
    accepted_before: int = 0,
) -> Candidates:
    """Merge the matrix drafts (``drafted[i]``: token of template node ``i``, -1 unwritten) and
    the matcher's ``copies`` into one trie, and price every node with ``est`` in the regime
    after a step that accepted ``accepted_before`` drafts."""
    rate, k, off = est.rate, est.k, est.offset(accepted_before)
    c = Candidates([root], [-1], [0], [0], [()], [1.0], [False], [{}], copies.match_len)
    cond = c.p  # conditional rates first; turned into path products at the end

    def add(parent: int, token: int, rank: int, cls: int, is_copy: bool) -> int:
        new = c.children[parent][token] = len(c.tokens)
        c.tokens.append(token)
        c.parents.append(parent)
        c.depths.append(c.depths[parent] + 1)
        c.ranks.append(rank)
        c.classes.append((cls,))
        cond.append(rate[cls])
        c.copied.append(is_copy)
        c.children.append({})
        return new

    where = [0] + [-1] * (len(drafted) - 1)  # template node -> trie node
    for i in range(1, len(drafted)):
        t, par = drafted[i], where[tc.parents[i]]
        if t >= 0 and par >= 0:  # a repeated token (zero-filled rows) joins the first copy
            found = c.children[par].get(t)
            cls = tc.classes[i] + off
            where[i] = add(par, t, tc.ranks[i], cls, False) if found is None else found
    for b, chain in enumerate(copies.chains):
        node = 0
        for j, t in enumerate(chain):
            cls = est.copy_class(b, copies.match_len + j) + off
            nxt = c.children[node].get(t)
            if nxt is None:
                nxt = add(node, t, k + b, cls, True)
            else:  # the matrix drafted it too
                c.classes[nxt] += (cls,)
                cond[nxt] = max(cond[nxt], rate[cls])
                c.copied[nxt] = True
            node = nxt
    for i in range(1, len(cond)):
        cond[i] *= cond[c.parents[i]]
    return c


def choose(cands: Candidates, step_costs: list[float], nodes: int = 0) -> Selection:
    """Keep the nodes worth verifying. ``step_costs[n]``: seconds of a step over ``n + 1``
    tokens (its length caps the tree). ``nodes`` > 0: keep exactly the best ``nodes`` (fixed
    size, for ablations at equal tokens per forward) instead of sizing by cost."""
    p = cands.p
    order = sorted(range(1, len(p)), key=lambda i: (-p[i], i))  # parents before children
    limit = min(len(order), len(step_costs) - 1)
    gain, best_n, best_rate = 1.0, 0, 1.0 / step_costs[0]
    gains = [1.0]
    for n in range(1, limit + 1):
        gain += p[order[n - 1]]
        gains.append(gain)
        if not nodes and gain / step_costs[n] > best_rate:
            best_n, best_rate = n, gain / step_costs[n]
    if nodes:
        best_n = min(nodes, limit)
    kept = sorted(order[:best_n], key=lambda i: (cands.depths[i], i))
    return Selection((0, *kept), gains[best_n], step_costs[best_n], len(p) - 1)


def verified_tree(cands: Candidates, sel: Selection) -> tuple[Tree, list[int], tuple[int, ...]]:
    """The verified tree (BFS order), its tokens, and its copied node indices."""
    index = {c: i for i, c in enumerate(sel.nodes)}
    parents = tuple(index[cands.parents[c]] if i else -1 for i, c in enumerate(sel.nodes))
    ranks = tuple(cands.ranks[c] for c in sel.nodes)
    copied = tuple(i for i, c in enumerate(sel.nodes) if cands.copied[c])
    return Tree(parents, ranks, "budget"), [cands.tokens[c] for c in sel.nodes], copied


def pruned(cands: Candidates, sel: Selection) -> list[int]:
    """Candidate indices left out, in BFS order (for the trace)."""
    kept = set(sel.nodes)
    return sorted(
        (i for i in range(len(cands)) if i not in kept), key=lambda i: (cands.depths[i], i)
    )


def score(cands: Candidates, truth: list[int], est: Acceptance) -> None:
    """Tell ``est`` which candidates were correct: walk the trie along ``truth`` (the tokens the
    step committed after the root, bonus included); every child of a node on that walk is scored,
    kept or pruned alike."""
    node = 0
    for t in truth:
        nxt = -1
        for tok, c in cands.children[node].items():
            hit = tok == t
            for cls in cands.classes[c]:
                est.observe(cls, hit)
            if hit:
                nxt = c
        if nxt < 0:
            return
        node = nxt
