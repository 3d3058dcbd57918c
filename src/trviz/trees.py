"""Draft-tree templates: the tree is data.

Humans write a template as a list of *paths*: a path is the tuple of child ranks from the root,
so ``(0, 2)`` is "the third candidate after the first candidate after the root". The canonical
form is :class:`Tree`, a frozen parent array in BFS order with the root at index 0; depths,
layers, ancestor sets and leaf paths all derive from it.

Node ``i`` of a drafted tree carries ``M[token(parent(i)), rank(i)]``, where ``M`` is the
adjacency matrix. Templates are validated on construction (prefix-closed, BFS order, ranks < k,
no repeated path) and every failure raises :class:`~trviz.errors.TemplateError`.

Stdlib only: no torch here.
"""

from __future__ import annotations

import heapq
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property

from trviz.checks import is_int
from trviz.errors import TemplateError

Path = tuple[int, ...]


@dataclass(frozen=True)
class Tree:
    """A draft-tree template in canonical form.

    ``parents[0] == -1`` is the root (the last committed token); nodes ``1..n_nodes`` follow in
    BFS order (depth, then path in lexicographic rank order). ``ranks[i]`` is the column of the
    parent's matrix row that node ``i`` reads.
    """

    parents: tuple[int, ...]
    ranks: tuple[int, ...]
    name: str = "custom"
    depths: tuple[int, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        _validate(self.parents, self.ranks)
        object.__setattr__(self, "parents", tuple(int(p) for p in self.parents))
        object.__setattr__(self, "ranks", tuple(int(r) for r in self.ranks))
        depths = [0]
        for i in range(1, len(self.parents)):
            depths.append(depths[self.parents[i]] + 1)
        object.__setattr__(self, "depths", tuple(depths))
        for i in range(2, len(depths)):
            if depths[i] < depths[i - 1]:
                raise TemplateError(f"tree {self.name!r}: node {i} breaks BFS order (depth falls)")

    # ----- construction -------------------------------------------------------------------
    @classmethod
    def from_paths(cls, paths: Iterable[Sequence[int]], name: str = "custom") -> Tree:
        """Build a tree from child-rank paths (the root, ``()``, is implicit)."""
        seen: set[Path] = set()
        for i, p in enumerate(_path_list(paths, name)):
            path = _as_path(p, i, name)
            if not path:
                continue  # the root is always there
            if path in seen:
                raise TemplateError(f"tree {name!r}: path {list(path)} appears twice")
            if any(r < 0 for r in path):
                raise TemplateError(f"tree {name!r}: path {list(path)} has a negative rank")
            seen.add(path)
        for path in seen:
            if len(path) > 1 and path[:-1] not in seen:
                raise TemplateError(
                    f"tree {name!r}: path {list(path)} has no parent {list(path[:-1])} "
                    "(templates must be prefix-closed)"
                )
        order = sorted(seen, key=lambda p: (len(p), p))
        index = {(): 0}
        parents, ranks = [-1], [0]
        for i, path in enumerate(order, start=1):
            index[path] = i
            parents.append(index[path[:-1]])
            ranks.append(path[-1])
        return cls(tuple(parents), tuple(ranks), name)

    @classmethod
    def from_children(cls, counts: dict[Path, int], name: str = "custom") -> Tree:
        """Build a tree from ``{parent path: number of children}``; children take ranks 0..n-1."""
        paths = [p + (r,) for p, n in counts.items() for r in range(n)]
        return cls.from_paths(paths, name)

    @classmethod
    def from_acceptance(
        cls, rates: Sequence[float], n_nodes: int, max_depth: int = 8, name: str | None = None
    ) -> Tree:
        """The tree of ``n_nodes`` paths with the highest acceptance probability.

        ``rates[r]`` is the probability that the rank-``r`` candidate is the accepted one; a path's
        score is the product of its ranks' rates (independence assumed), so expected accepted
        length is the sum of scores of the chosen nodes. Best-first search keeps it prefix-closed
        (a child never scores higher than its parent while every rate is < 1).
        """
        if not 0 < n_nodes <= 4096:
            raise TemplateError(f"n_nodes must be in 1..4096, got {n_nodes}")
        if not rates or any(not 0 < r < 1 for r in rates):
            raise TemplateError("acceptance rates must all lie strictly between 0 and 1")
        heap: list[tuple[float, Path]] = [(-rates[r], (r,)) for r in range(len(rates))]
        heapq.heapify(heap)
        chosen: list[Path] = []
        while heap and len(chosen) < n_nodes:
            neg, path = heapq.heappop(heap)
            chosen.append(path)
            if len(path) < max_depth:
                for r, rate in enumerate(rates):
                    heapq.heappush(heap, (neg * rate, path + (r,)))
        return cls.from_paths(chosen, name or f"auto-{n_nodes}")

    # ----- derived views --------------------------------------------------------------------
    @property
    def n_nodes(self) -> int:
        """Drafted nodes, root excluded (the paper's tree has 80)."""
        return len(self.parents) - 1

    @property
    def size(self) -> int:
        """Tokens per verification forward: root + drafted nodes."""
        return len(self.parents)

    @property
    def depth(self) -> int:
        return self.depths[-1]

    @property
    def max_rank(self) -> int:
        return max(self.ranks[1:], default=-1)

    @cached_property
    def layers(self) -> tuple[tuple[int, int], ...]:
        """``(start, stop)`` node-index slices of each depth >= 1 (contiguous in BFS order)."""
        out, start = [], 1
        for d in range(1, self.depth + 1):
            stop = start
            while stop < len(self.depths) and self.depths[stop] == d:
                stop += 1
            out.append((start, stop))
            start = stop
        return tuple(out)

    @cached_property
    def paths(self) -> tuple[Path, ...]:
        """Child-rank path of every node (root ``()`` first)."""
        out: list[Path] = [()]
        for i in range(1, self.size):
            out.append(out[self.parents[i]] + (self.ranks[i],))
        return tuple(out)

    @cached_property
    def ancestors(self) -> tuple[tuple[int, ...], ...]:
        """For each node, the node indices from the root down to itself (inclusive)."""
        out: list[tuple[int, ...]] = [(0,)]
        for i in range(1, self.size):
            out.append(out[self.parents[i]] + (i,))
        return tuple(out)

    @cached_property
    def children(self) -> tuple[tuple[int, ...], ...]:
        """For each node, its children in BFS order (so by rank)."""
        out: list[list[int]] = [[] for _ in range(self.size)]
        for i in range(1, self.size):
            out[self.parents[i]].append(i)
        return tuple(tuple(c) for c in out)

    @cached_property
    def leaves(self) -> tuple[int, ...]:
        has_child = set(self.parents[1:])
        return tuple(i for i in range(self.size) if i not in has_child)

    def mask_rows(self) -> list[list[bool]]:
        """Tree attention ``[size, size]``: node i sees node j iff j is an ancestor of i (or i)."""
        rows = []
        for anc in self.ancestors:
            s = set(anc)
            rows.append([j in s for j in range(self.size)])
        return rows

    def nodes_per_depth(self) -> tuple[int, ...]:
        return tuple(stop - start for start, stop in self.layers)

    def to_dict(self) -> dict:
        return {"name": self.name, "parents": list(self.parents), "ranks": list(self.ranks)}

    @classmethod
    def from_dict(cls, d: dict) -> Tree:
        """The inverse of :meth:`to_dict` (a saved trace's or config's tree)."""
        name = d.get("name", "custom") if isinstance(d, dict) else None
        if not isinstance(name, str):
            raise TemplateError(f"a tree dict has 'parents', 'ranks' and a str 'name': {d!r:.80}")
        return cls(d.get("parents"), d.get("ranks"), name)

    def __repr__(self) -> str:
        return (
            f"Tree({self.name!r}, nodes={self.n_nodes}, depth={self.depth}, "
            f"per_depth={list(self.nodes_per_depth())})"
        )


def _path_list(paths: Iterable[Sequence[int]], name: str) -> list:
    if isinstance(paths, (str, bytes, dict)) or not isinstance(paths, Iterable):
        raise TemplateError(
            f"tree {name!r}: a tree is a preset name, a Tree or a list of child-rank paths "
            f"(e.g. [(0,), (1,), (0, 0)]), not {type(paths).__name__}"
        )
    return list(paths)


def _as_path(p: Sequence[int], i: int, name: str) -> Path:
    """Path number ``i`` of a template as a tuple of ints."""
    if isinstance(p, (str, bytes)) or not isinstance(p, Sequence):
        raise TemplateError(
            f"tree {name!r}: path {i} is {p!r}; each path is a list of child ranks, e.g. (0, 1)"
        )
    if not all(is_int(r) for r in p):
        raise TemplateError(f"tree {name!r}: path {i} {p!r} must hold ints (child ranks)")
    return tuple(int(r) for r in p)


def _validate(parents: Sequence[int], ranks: Sequence[int]) -> None:
    for arr in (parents, ranks):
        if not isinstance(arr, (tuple, list)) or not all(is_int(x) for x in arr):
            raise TemplateError(
                f"parents and ranks must be tuples of ints, got {parents!r:.60} and {ranks!r:.60}"
            )
    if len(parents) != len(ranks):
        raise TemplateError(f"parents ({len(parents)}) and ranks ({len(ranks)}) differ in length")
    if not parents or parents[0] != -1:
        raise TemplateError("node 0 must be the root, with parent -1")
    seen: set[tuple[int, int]] = set()
    for i in range(1, len(parents)):
        p, r = parents[i], ranks[i]
        if not 0 <= p < i:
            raise TemplateError(f"node {i}: parent {p} must come earlier in BFS order (0..{i - 1})")
        if r < 0:
            raise TemplateError(f"node {i}: negative rank {r}")
        if (p, r) in seen:
            raise TemplateError(f"node {i}: parent {p} already has a child of rank {r}")
        seen.add((p, r))


def check_fits(tree: Tree, k: int) -> None:
    """Raise if the tree reads a matrix column that a ``[V, k]`` matrix does not have."""
    if tree.max_rank >= k:
        raise TemplateError(
            f"tree {tree.name!r} reads rank {tree.max_rank} but the matrix keeps k={k} candidates "
            f"per row; use k >= {tree.max_rank + 1}"
        )


# ----- presets ----------------------------------------------------------------------------------

# The paper's tree, "2.2.2" (Luo et al. 2024, reference code): {parent path: number of children}.
_PAPER_CHILDREN: dict[Path, int] = {
    (): 8,
    (0,): 8, (1,): 4, (2,): 3, (3,): 2, (4,): 1, (5,): 1, (6,): 1, (7,): 1,
    (0, 0): 8, (0, 1): 3, (0, 2): 2, (0, 3): 1, (0, 4): 1, (0, 5): 1, (0, 6): 1, (0, 7): 1,
    (1, 0): 2, (1, 1): 1, (2, 0): 1, (3, 0): 1, (4, 0): 1, (5, 0): 1,
    (0, 0, 0): 5, (0, 0, 1): 2, (0, 0, 2): 1, (0, 0, 3): 1, (0, 0, 4): 1,
    (0, 1, 0): 1, (0, 2, 0): 1, (1, 0, 0): 1, (2, 0, 0): 1, (3, 0, 0): 1,
    (0, 0, 0, 0): 3, (0, 0, 0, 1): 1, (0, 0, 0, 2): 1, (0, 0, 1, 0): 1, (0, 1, 0, 0): 1,
    (1, 0, 0, 0): 1,
    (0, 0, 0, 0, 0): 2, (0, 0, 0, 1, 0): 1,
}  # fmt: skip

# Per-rank acceptance rates that shape the smaller presets: the probability that the true next
# token sits at rank r of the row read, measured on SmolLM2-135M-Instruct (fp32, paper tree, hot
# start, 6 prompts x 128 tokens) by `python benchmarks/tree_mat.py`. The rest (41%) was not in
# the row at all: a first-order table cannot predict it.
DEFAULT_RATES: tuple[float, ...] = (0.342, 0.101, 0.044, 0.029, 0.017, 0.012, 0.014, 0.011)

PRESET_SIZES = (8, 12, 16, 24, 32, 40)
SPINE = 12  # depth of the rank-0 chain in a candidate template


def candidate_tree(n_nodes: int, spine: int = SPINE, name: str | None = None) -> Tree:
    """A candidate template for the per-step budget (:mod:`trviz.budget`): the ``n_nodes``
    rate-shaped tree plus a rank-0 chain down to depth ``spine``, so that when the estimates
    say rank 0 keeps being right the budget can verify deep."""
    base = Tree.from_acceptance(DEFAULT_RATES, n_nodes)
    paths = set(base.paths[1:]) | {(0,) * d for d in range(1, spine + 1)}
    return Tree.from_paths(paths, name or f"cand-{n_nodes}")


def _build_presets() -> dict[str, Tree]:
    presets = {"2.2.2": Tree.from_children(_PAPER_CHILDREN, "2.2.2")}
    presets["chain-4"] = Tree.from_paths([(0,) * d for d in range(1, 5)], "chain-4")
    for n in PRESET_SIZES:
        presets[f"tr-{n}"] = Tree.from_acceptance(DEFAULT_RATES, n, name=f"tr-{n}")
    return presets


PRESETS: dict[str, Tree] = _build_presets()


def get_tree(spec: str | Tree | Iterable[Sequence[int]]) -> Tree:
    """A preset name, ``"auto-N"``, a :class:`Tree` or a list of paths, as a :class:`Tree`."""
    if isinstance(spec, Tree):
        return spec
    if isinstance(spec, str):
        if spec in PRESETS:
            return PRESETS[spec]
        shaped = re.fullmatch(r"(auto|cand)-(\d+)", spec)
        if shaped and shaped[1] == "auto":  # any size, shaped like the tr-N presets
            return Tree.from_acceptance(DEFAULT_RATES, int(shaped[2]), name=spec)
        if shaped:
            return candidate_tree(int(shaped[2]))
        raise TemplateError(
            f"unknown tree {spec!r}; presets: {', '.join(PRESETS)}, auto-N (N drafted nodes "
            "shaped from measured per-rank acceptance rates) or cand-N (auto-N plus a rank-0 "
            f"chain to depth {SPINE}: a candidate template for the budget)"
        )
    if isinstance(spec, dict) and "parents" in spec and "ranks" in spec:
        return Tree.from_dict(spec)
    return Tree.from_paths(spec)


def with_lookup_branch(
    tree: Tree, length: int, k: int, label: str = "lookup"
) -> tuple[Tree, tuple[int, ...]]:
    """``tree`` plus a chain of ``length`` nodes under the root, for copied drafts (prompt
    lookup or longest-match copying), named ``<tree>+<label><length>``.

    The chain hangs at the root's next free rank ``R`` (paths ``(R,), (R, 0), (R, 0, 0)...``), so
    when no lookup match exists it is drafted from the matrix like any other branch. If the root
    already uses all ``k`` ranks, the chain replaces the rank ``k - 1`` subtree (the least likely).
    Returns the new tree and the chain's node indices, root-side first.
    """
    if length < 1:
        raise TemplateError(f"lookup branch length must be >= 1, got {length}")
    paths = list(tree.paths[1:])
    r = 1 + max((p[0] for p in paths if len(p) == 1), default=-1)
    if r >= k:
        r = k - 1
        paths = [p for p in paths if p[0] != r]
    chain = [(r,) + (0,) * d for d in range(length)]
    new = Tree.from_paths(paths + chain, f"{tree.name}+{label}{length}")
    index = {p: i for i, p in enumerate(new.paths)}
    return new, tuple(index[p] for p in chain)
