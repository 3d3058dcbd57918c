"""Decoder configuration: a frozen dataclass validated on construction; presets are plain dicts.

``PAPER`` reproduces the reference implementation (80-node "2.2.2" tree, k=8, zero-initialised
matrix carried across prompts). ``DEFAULT`` is what we recommend: unwritten rows marked so they
are never drafted, longest-match copying from the context (what a first-order table cannot
predict), and a per-step budget that verifies, each step, only the drafted tokens whose expected
gain pays for their cost on this device at this context length (a CPU cannot verify 81 tokens
for free; a GPU can). Stdlib only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

from trviz.checks import check_flag, int_at_least
from trviz.errors import ConfigError
from trviz.trees import PRESETS as TREE_PRESETS
from trviz.trees import Tree, check_fits, get_tree, with_lookup_branch

PAPER: dict[str, Any] = {"name": "paper", "tree": "2.2.2", "k": 8, "dedupe": False}
DEFAULT: dict[str, Any] = {
    "name": "default",
    "tree": "auto",
    "k": 8,
    "dedupe": True,
    "copy": 32,
    "copy_branches": 3,
    "budget": True,
}
# The default's drafter on one fixed tree every step (the tree sweep's and the ablations'
# reference): tree="auto" resolves as AUTO_TREES says, plus a 5-node longest-match copy branch.
STATIC: dict[str, Any] = {"name": "static", "tree": "auto", "k": 8, "dedupe": True, "copy": 5}
PRESETS = {"paper": PAPER, "default": DEFAULT, "static": STATIC}

# Tree used by tree="auto", by (device type, dtype name). CPU verification cost grows quickly with
# the number of tokens per forward, so CPU trees are small; a GPU verifies 81 tokens almost free.
# The CPU entries are the best MAT per unit of forward cost measured on this project's 2-core CPU
# (docs/benchmarks.md, "Tree sweep"). A cached `trviz bench --sweep-trees` result overrides this
# table (trviz.run.choose_tree), and the choice and its source are recorded in the trace.
AUTO_TREES: dict[tuple[str, str], str] = {
    ("cpu", "float32"): "tr-8",
    ("cpu", "bfloat16"): "tr-16",
    ("cpu", "float16"): "tr-16",
    ("cuda", "float32"): "2.2.2",
    ("cuda", "bfloat16"): "2.2.2",
    ("cuda", "float16"): "2.2.2",
}

# Tree used by tree="auto" when sampling, where it differs from the greedy choice. A sample follows
# a draft less often than the argmax does, so deep trees pay for nodes that are rarely reached
# (measured: docs/sampling-and-large-models.md). A greedy tree sweep does not override it.
AUTO_SAMPLING_TREES: dict[tuple[str, str], str] = {
    ("cpu", "bfloat16"): "tr-8",
    ("cpu", "float16"): "tr-8",
}
FALLBACK_TREE = "tr-24"

# Candidate template the per-step budget prunes from (tree="auto" with budget=True), by device
# type: the budget keeps a handful of nodes on a CPU, where every verified token costs, and
# dozens on a GPU, where a forward over 80 tokens costs about what one token costs.
AUTO_CANDIDATES: dict[str, str] = {"cpu": "cand-40", "cuda": "cand-80"}
FALLBACK_CANDIDATES = "cand-40"
SAMPLING_VERIFY = ("auto", "walk", "parallel")  # a device/dtype the tables do not know


class TreeChoice(NamedTuple):
    """The tree a run verifies and why: ``tree`` is what one step verifies (``tree.size`` tokens
    per forward, copy branch included; with the budget, the candidate template it prunes from),
    ``chain`` the copy branch's node indices (root side first; empty without one), ``base`` the
    matrix tree before the branch, ``source`` where the choice came from ("config", "table
    (...)", "sampling table (...)", "tree sweep (file)", "candidates (...)")."""

    tree: Tree
    chain: tuple[int, ...]
    base: Tree
    source: str


@dataclass(frozen=True)
class TRConfig:
    """How Token Recycling drafts and updates.

    tree: a preset name (``trviz.trees.PRESETS``), ``"auto"`` (chosen per device and dtype), a
        :class:`~trviz.trees.Tree`, or a list of child-rank paths.
    k: candidates kept per matrix row (the paper uses 8).
    dedupe: mark rows never written (-1) so they are never drafted nor verified as candidates
        (the paper fills the matrix with token 0 and drafts it, wasting tree slots). Rows hold
        top-k ids, so siblings drafted from a written row never repeat a token.
    seed_from_prompt: before decoding, write the rows of the prompt's tokens from the prefill
        logits (a known variant; the paper starts from whatever the matrix holds).
    lookup: length of an extra root branch drafted by n-gram prompt lookup (tokens that followed
        the latest earlier occurrence of the context's last ``lookup_ngram``..1 tokens); 0 = off
        (the paper). Without a match the branch is drafted from the matrix like the others.
    copy: longest-match copying (:class:`~trviz.lookup.SuffixAutomaton`): the tokens that
        followed the longest earlier occurrence of the context's suffix. On a static tree, the
        length of the copy branch (as ``lookup``); with ``budget``, the longest copied chain the
        budget may verify. 0 = off. Not together with ``lookup``.
    copy_branches: with ``budget``, how many distinct continuations of the match are proposed.
    budget: a new tree every step (:mod:`trviz.budget`): ``tree`` becomes the candidate template
        the matrix fills, copies join it, and the step verifies the candidates whose expected
        accepted tokens pay for their cost on this device at this context length (from 1 token,
        plain decoding, to a large tree). Off in the paper's configuration.
    budget_nodes: with ``budget``, verify exactly this many candidates each step instead of
        sizing the tree by cost (for comparisons at equal tokens per forward); 0 = by cost.
    sampling_verify: how sampling is verified (same distribution either way, see
        :mod:`trviz.sampling`): ``"walk"`` draws on the host only at the nodes the walk visits
        (cheap where a host read is free), ``"parallel"`` draws at every node with no host sync,
        ``"auto"`` walks on CPU and draws in parallel on accelerators.
    """

    tree: Any = "auto"
    k: int = 8
    dedupe: bool = True
    seed_from_prompt: bool = False
    lookup: int = 0
    lookup_ngram: int = 3
    copy: int = 0
    copy_branches: int = 1
    budget: bool = False
    budget_nodes: int = 0
    sampling_verify: str = "auto"
    name: str = "custom"

    def __post_init__(self) -> None:
        for name, minimum in (
            ("k", 1),
            ("lookup", 0),
            ("lookup_ngram", 1),
            ("copy", 0),
            ("copy_branches", 1),
            ("budget_nodes", 0),
        ):
            object.__setattr__(self, name, int_at_least(name, getattr(self, name), minimum))
        check_flag("dedupe", self.dedupe)
        check_flag("seed_from_prompt", self.seed_from_prompt)
        check_flag("budget", self.budget)
        if not isinstance(self.name, str):
            raise ConfigError(f"name must be a string, got {self.name!r}")
        if self.copy and self.lookup:
            raise ConfigError("choose one copy source: copy (longest match) or lookup (n-gram)")
        if self.sampling_verify not in SAMPLING_VERIFY:
            raise ConfigError(
                f"sampling_verify must be one of {SAMPLING_VERIFY}, got {self.sampling_verify!r}"
            )
        if not (isinstance(self.tree, str) and self.tree == "auto"):
            tree = get_tree(self.tree)
            check_fits(tree, self.k)
            object.__setattr__(self, "tree", tree)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TRConfig:
        if not isinstance(name, str) or name not in PRESETS:
            raise ConfigError(f"unknown config preset {name!r}; choose from {sorted(PRESETS)}")
        return cls(**_known_fields({**PRESETS[name], **overrides}))

    def resolve_tree(
        self,
        device_type: str,
        dtype_name: str,
        sampling: bool = False,
        swept: tuple[str, str] | None = None,
    ) -> TreeChoice:
        """The tree one step verifies for a device (``"cpu"``/``"cuda"``) and dtype
        (``"float32"``...), the copy branch included, and why it was chosen.

        With ``budget``, ``tree="auto"`` is the ``AUTO_CANDIDATES`` template for the device, and
        there is no branch (copies join the candidates each step). Otherwise, for ``"auto"``:
        when ``sampling``, the ``AUTO_SAMPLING_TREES`` entry if there is one; else ``swept``
        (``(tree name, where it came from)``: what ``trviz bench --sweep-trees`` measured best on
        this machine, passed in by :func:`trviz.run.choose_tree`), else the static ``AUTO_TREES``
        table. Pure: reads no file.
        """
        key = (device_type, dtype_name)
        if isinstance(self.tree, Tree):
            base, source = self.tree, "config"
        elif self.budget:
            name = AUTO_CANDIDATES.get(device_type, FALLBACK_CANDIDATES)
            base, source = get_tree(name), f"candidates ({device_type})"
        elif sampling and key in AUTO_SAMPLING_TREES:
            base, source = get_tree(AUTO_SAMPLING_TREES[key]), f"sampling table {key}"
        elif swept is not None and swept[0] in TREE_PRESETS:
            base, source = get_tree(swept[0]), f"tree sweep ({swept[1]})"
        else:
            base, source = get_tree(AUTO_TREES.get(key, FALLBACK_TREE)), f"table {key}"
        check_fits(base, self.k)
        branch = self.lookup or self.copy
        if self.budget or not branch:
            return TreeChoice(base, (), base, source)
        tree, chain = with_lookup_branch(base, branch, self.k, "copy" if self.copy else "lookup")
        check_fits(tree, self.k)
        return TreeChoice(tree, chain, base, source)

    def max_tokens(self, tree: Tree) -> int:
        """Most tokens one forward may verify with ``tree`` (:meth:`resolve_tree`'s): with the
        budget, the candidate template plus every copied chain."""
        if not self.budget:
            return tree.size
        return tree.size + (self.copy or self.lookup) * (self.copy_branches if self.copy else 1)

    def host_walk(self, device_type: str) -> bool:
        """Whether sampling is verified by the host walk on this device (``sampling_verify``)."""
        if self.sampling_verify == "auto":
            return device_type == "cpu"
        return self.sampling_verify == "walk"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["tree"] = self.tree.to_dict() if isinstance(self.tree, Tree) else self.tree
        return d


def as_config(config: TRConfig | str | dict | None) -> TRConfig:
    """Accept a TRConfig, a preset name, a dict of fields, or None (the default preset)."""
    if config is None:
        return TRConfig.preset("default")
    if isinstance(config, TRConfig):
        return config
    if isinstance(config, str):
        return TRConfig.preset(config)
    if isinstance(config, dict):
        return TRConfig(**_known_fields(config))
    kind = type(config).__name__
    raise ConfigError(f"config must be a TRConfig, preset name or dict, not {kind}")


def _known_fields(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` if every key is a :class:`TRConfig` field; else a ConfigError naming a stray."""
    names = [f.name for f in fields(TRConfig)]
    unknown = [key for key in d if key not in names]
    if unknown:
        raise ConfigError(f"unknown config field {unknown[0]!r}; fields: {', '.join(names)}")
    return d
