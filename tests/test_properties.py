"""Property tests: trviz's draft / accept / update (and the other verbs the exercises cover) agree
with the checkers' independent plain-Python solutions on seeded random trees, matrices and
model outputs; and a whole simulated decode built from the library's verbs equals the same decode
built from the solutions, step by step, and equals plain greedy decoding.

Seeded ``random.Random`` (hypothesis is not a dependency here): every failure names its seed.
"""

from __future__ import annotations

import random
from collections import Counter

import pytest
import torch

from tr_notebooks import checkers as c
from tr_notebooks.checkers.core import ancestors
from tr_notebooks.stats import chi_square
from trviz.matrix import draft, update, write_winners
from trviz.sampling import SamplingParams, walk
from trviz.tree_attention import TreeTensors
from trviz.trees import Tree
from trviz.verify import accept

SEEDS = range(200)
VOCAB = 24


def random_tree(rng: random.Random, max_nodes: int = 16, k: int = 4) -> Tree:
    """A random prefix-closed template: each new node hangs under a random node, next free rank."""
    paths: list[tuple[int, ...]] = [()]
    used: Counter = Counter()
    for _ in range(rng.randint(0, max_nodes)):
        parent = rng.choice(paths)
        if used[parent] < k:
            paths.append(parent + (used[parent],))
            used[parent] += 1
    return Tree.from_paths(paths[1:], "random")


def random_rows(rng: random.Random, k: int = 4, fill: float = 0.6) -> dict[int, list[int]]:
    return {t: rng.sample(range(VOCAB), k) for t in range(VOCAB) if rng.random() < fill}


def random_node(rng: random.Random, tree: Tree) -> int:
    return rng.randrange(tree.size)


def planted(rng: random.Random, tokens: list[int], parents: list[int]) -> list[int]:
    """Per-node model outputs where about half the children are 'right' (so paths go deep)."""
    out = [rng.randrange(VOCAB) for _ in tokens]
    for i in rng.sample(range(1, len(tokens)), k=(len(tokens) - 1) // 2):
        if tokens[i] >= 0:
            out[parents[i]] = tokens[i]
    return out


def agree(name: str, seed: int, **args):
    ref, sol = c.REFERENCES[name](**args), c.SOLUTIONS[name](**args)
    assert ref == sol, f"{name}, seed {seed}: trviz {ref} != solution {sol} for {args}"


@pytest.mark.parametrize("seed", SEEDS)
def test_draft_matches_the_solution(seed):
    rng = random.Random(seed)
    tree = random_tree(rng)
    rows = random_rows(rng)
    root = rng.randrange(VOCAB)
    agree("draft", seed, rows=rows, root=root, parents=list(tree.parents), ranks=list(tree.ranks))


@pytest.mark.parametrize("seed", SEEDS)
def test_accept_matches_the_solution(seed):
    rng = random.Random(seed)
    tree = random_tree(rng)
    parents = list(tree.parents)
    tokens = [rng.randrange(-1, 6) for _ in parents]  # few values: repeats and empty slots
    argmax = planted(rng, tokens, parents)
    agree("longest_accepted", seed, tokens=tokens, argmax=argmax, parents=parents)
    draft_chain = [rng.randrange(6) for _ in range(rng.randint(0, 6))]
    chain_argmax = [rng.randrange(6) for _ in range(len(draft_chain) + 1)]
    for i, t in enumerate(draft_chain):
        if rng.random() < 0.7:
            chain_argmax[i] = t
    agree("chain_accept", seed, draft=draft_chain, argmax=chain_argmax)


@pytest.mark.parametrize("seed", SEEDS)
def test_update_and_tie_break_match_the_solutions(seed):
    rng = random.Random(seed)
    tree = random_tree(rng)
    tokens = [rng.randrange(-1, 5) for _ in range(tree.size)]
    tokens[0] = rng.randrange(5)  # the root is always a real token
    committed = list(tree.ancestors[random_node(rng, tree)])
    topk = [rng.sample(range(VOCAB), 3) for _ in tokens]
    agree("tie_break", seed, tokens=tokens, committed=committed)
    agree("recycle", seed, tokens=tokens, topk=topk, committed=committed)


@pytest.mark.parametrize("seed", SEEDS)
def test_mask_positions_and_compaction_match_the_solutions(seed):
    rng = random.Random(seed)
    tree = random_tree(rng)
    parents = list(tree.parents)
    agree("tree_mask", seed, parents=parents)
    prefix = rng.randint(0, 9)
    agree("positions", seed, parents=parents, prefix_len=prefix)
    cache = [f"p{i}" for i in range(prefix)] + [f"n{i}" for i in range(tree.size)]
    path = list(tree.ancestors[random_node(rng, tree)])
    agree("compact", seed, cache=cache, prefix_len=prefix, path=path)


@pytest.mark.parametrize("seed", SEEDS)
def test_sample_walk_matches_the_solution(seed):
    rng = random.Random(seed)
    tree = random_tree(rng)
    parents = list(tree.parents)
    tokens = [rng.randrange(-1, 4) for _ in parents]  # sibling repeats are common
    agree(
        "sample_walk", seed, tokens=tokens, parents=parents, samples=planted(rng, tokens, parents)
    )


@pytest.mark.parametrize("seed", range(50))
def test_formulae_match_the_solutions(seed):
    rng = random.Random(seed)
    tree = random_tree(rng, k=3)
    rates = [rng.uniform(0.01, 0.6) for _ in range(3)]
    paths = [list(p) for p in tree.paths[1:]]
    ref, sol = c.REFERENCES["expected_mat"](paths, rates), c.SOLUTIONS["expected_mat"](paths, rates)
    assert ref == pytest.approx(sol, rel=1e-12), seed
    eos = rng.sample(range(6), rng.randint(0, 2))
    tokens = [rng.randrange(6) for _ in range(rng.randint(1, 7))]
    agree("commit", seed, tokens=tokens, eos=eos, budget=rng.randint(1, 8))
    sizes = sorted(rng.sample(range(2, 90), 4))
    cost = {1: 0.05, **{q: 0.05 * (1 + rng.uniform(0, 4) * q / 90) for q in sizes}}
    trees = {
        f"t{q}": {"size": q, "mat": rng.uniform(1, 3), "overhead_s": rng.uniform(0, 0.01)}
        for q in sizes
    }
    agree("pick_tree", seed, cost=cost, trees=trees)
    args = {"mat": rng.uniform(1, 4), "cost_1": 0.05, "cost_q": rng.uniform(0.05, 0.3)}
    args["overhead"] = rng.uniform(0, 0.01)
    ref = c.REFERENCES["predicted_speedup"](**args)
    assert ref == pytest.approx(c.SOLUTIONS["predicted_speedup"](**args), rel=1e-12)


# ----- sampling: the speculative rule and trviz's walk give the target distribution -------------


@pytest.mark.parametrize("seed", range(5))
def test_speculative_rule_gives_p_for_random_draft_models(seed):
    rng = random.Random(seed)
    p = [rng.random() ** 2 for _ in range(5)]
    q = [rng.random() for _ in range(5)]
    p, q = [x / sum(p) for x in p], [x / sum(q) for x in q]
    draws, counts = random.Random(100 + seed), Counter()
    for _ in range(4000):
        x = draws.choices(range(5), weights=q)[0]
        counts[c.REFERENCES["speculative_sample"](p, q, x, rng)] += 1
    _, pvalue, _ = chi_square(counts, dict(enumerate(p)))
    assert pvalue > 1e-4, (seed, counts, p)


@pytest.mark.parametrize("draft_token", [0, 2, 3])
def test_trviz_walk_is_the_speculative_rule_with_a_one_hot_draft(draft_token):
    """A one-child tree drafting token d: the first committed token follows p, as min(1, p/q)
    with q one-hot at d says (keep d with probability p[d], else draw from p without d)."""
    p = torch.tensor([0.1, 0.4, 0.3, 0.2, 0.0])
    logits = p.clamp_min(1e-30).log()[None].repeat(2, 1)  # root and child: same distribution
    tree = Tree.from_paths([(0,)])
    params, gen = SamplingParams(temperature=1.0, seed=0), torch.Generator().manual_seed(0)
    counts: Counter = Counter()
    for _ in range(3000):
        best, samples = walk([7, draft_token], logits, tree.children, params, gen)
        counts[draft_token if best == 1 else samples[0]] += 1
    _, pvalue, _ = chi_square(counts, dict(enumerate(p.tolist())))
    assert pvalue > 1e-4, counts


# ----- a whole decode: library verbs == solution verbs == greedy --------------------------------


def next_token(context: list[int]) -> int:
    """A deterministic stand-in for a model's argmax: depends on the last two tokens, so a
    first-order table predicts it often, not always."""
    a, b = context[-1], context[-2] if len(context) > 1 else 0
    return (5 * a + 3 * b + (a * b) % 7) % VOCAB


def top_k(context: list[int], k: int) -> list[int]:
    first = next_token(context)
    return [(first + 7 * j) % VOCAB for j in range(k)]


def library_step(table, root, prefix, tree, tt, k):
    """One step with trviz's verbs: draft, (fake) forward, accept, update."""
    tokens = draft(table, torch.tensor(root), tt.parents, tt.ranks, tree.layers)
    host = tokens.tolist()
    contexts = [prefix + [max(host[a], 0) for a in tree.ancestors[i]] for i in range(tree.size)]
    argmax = torch.tensor([next_token(ctx) for ctx in contexts])
    best = int(accept(tokens, argmax, tt))
    candidates = torch.tensor([top_k(ctx, k) for ctx in contexts])
    update(table, tokens, candidates, write_winners(tokens, tt.ancestors[best], tt.depths))
    return host, best, [host[a] for a in tree.ancestors[best][1:]] + [int(argmax[best])]


def solution_step(rows, root, prefix, tree, k):
    """The same step with the checkers' plain-Python solutions."""
    parents, ranks = list(tree.parents), list(tree.ranks)
    tokens = c.SOLUTIONS["draft"](rows, root, parents, ranks)
    contexts = [
        prefix + [max(tokens[a], 0) for a in ancestors(parents, i)] for i in range(len(parents))
    ]
    argmax = [next_token(ctx) for ctx in contexts]
    best = c.SOLUTIONS["longest_accepted"](tokens, argmax, parents)
    path = ancestors(parents, best)
    topk = [top_k(ctx, k) for ctx in contexts]
    rows.update(c.SOLUTIONS["recycle"](tokens, topk, path))
    return tokens, best, [tokens[a] for a in path[1:]] + [argmax[best]]


@pytest.mark.parametrize("seed", range(20))
def test_a_simulated_decode_agrees_step_by_step_and_is_lossless(seed):
    rng = random.Random(seed)
    k = 4
    tree = random_tree(rng, max_nodes=12, k=k)
    tt = TreeTensors.build(tree, "cpu")
    table = torch.full((VOCAB, k), -1, dtype=torch.int32)
    rows: dict[int, list[int]] = {}
    prompt = [rng.randrange(VOCAB) for _ in range(4)]
    ours, theirs, steps = list(prompt), list(prompt), 0
    while len(ours) < len(prompt) + 60:
        lib = library_step(table, ours[-1], ours[:-1], tree, tt, k)
        sol = solution_step(rows, theirs[-1], theirs[:-1], tree, k)
        assert lib == sol, f"seed {seed}, step {steps}: trviz {lib} != solutions {sol}"
        for t, row in rows.items():
            assert table[t].tolist() == row, f"seed {seed}, step {steps}: row {t} differs"
        ours += lib[2]
        theirs += sol[2]
        steps += 1
    greedy = list(prompt)
    while len(greedy) < len(ours):
        greedy.append(next_token(greedy))
    assert ours == greedy, f"seed {seed}: not lossless"
    if tree.size > 1:
        assert steps < 60, f"seed {seed}: nothing was ever accepted"
