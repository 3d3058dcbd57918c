"""Decoder configuration: a frozen dataclass validated on construction; presets are plain dicts.

``PAPER`` reproduces the reference implementation (80-node "2.2.2" tree, k=8, zero-initialised
matrix carried across prompts). ``DEFAULT`` is what we recommend: unwritten rows marked so they
are never drafted, longest-match copying from the context (what a first-order table cannot
predict), and a per-step budget that verifies, each step, only the drafted tokens whose expected
gain pays for their cost on this device at this context length (a CPU cannot verify 81 tokens
for free; a GPU can). Stdlib only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from trviz.errors import ConfigError
from trviz.plumbing import dtype_name
from trviz.sweep_cache import swept_tree
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
PRESETS = {"paper": PAPER, "default": DEFAULT}

# Tree used by tree="auto", by (device type, dtype name). CPU verification cost grows quickly with
# the number of tokens per forward, so CPU trees are small; a GPU verifies 81 tokens almost free.
# CPU entries: MAT per unit of forward cost on this project's 2-core CPU, lookup branch included
# (MAT from `python benchmarks/tree_mat.py`; forward cost over q tokens relative to q=1 from the
# tree sweep in docs/benchmarks.md: fp32 1.65x at q=8, 1.9x at q=14..16; bf16 1.1x at q=8, 1.25x
# at q=14, 1.4x at q=22, 1.65x at q=32).
# `trviz bench --sweep-trees` caches a per-machine choice that overrides this table.
AUTO_TREES: dict[tuple[str, str], str] = {
    ("cpu", "float32"): "tr-8",
    ("cpu", "bfloat16"): "tr-16",
    ("cpu", "float16"): "tr-16",
    ("cuda", "float32"): "2.2.2",
    ("cuda", "bfloat16"): "2.2.2",
    ("cuda", "float16"): "2.2.2",
}

# Tree used by tree="auto" when sampling, where it differs from the greedy choice. A sample follows
# a draft less often than the argmax does, so deep trees pay for nodes that are rarely reached.
# Measured (bf16, T=0.7, `benchmarks/bench_sampling.py --tree ...`, 7 prompts x 64 tokens, speedup
# over plain sampling): chain-4 1.21x, tr-8 1.20x, tr-12 1.12x, tr-16 1.06x (all + lookup branch).
# A per-machine sweep (greedy MAT) does not override this table.
AUTO_SAMPLING_TREES: dict[tuple[str, str], str] = {
    ("cpu", "bfloat16"): "tr-8",
    ("cpu", "float16"): "tr-8",
}


# Candidate template the per-step budget prunes from (tree="auto" with budget=True), by device
# type: the budget keeps a handful of nodes on a CPU, where every verified token costs, and
# dozens on a GPU, where a forward over 80 tokens costs about what one token costs.
AUTO_CANDIDATES: dict[str, str] = {"cpu": "cand-40", "cuda": "cand-80"}
FALLBACK_CANDIDATES = "cand-40"


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
    chat: apply the tokenizer's chat template to string prompts (None: when the tokenizer has one).
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
    chat: bool | None = None
    name: str = "custom"

    def __post_init__(self) -> None:
        if not isinstance(self.k, int) or self.k < 1:
            raise ConfigError(f"k must be a positive int, got {self.k!r}")
        if self.lookup < 0 or self.lookup_ngram < 1:
            raise ConfigError("lookup must be >= 0 and lookup_ngram >= 1")
        if self.copy < 0 or self.copy_branches < 1 or self.budget_nodes < 0:
            raise ConfigError("copy and budget_nodes must be >= 0, copy_branches >= 1")
        if self.copy and self.lookup:
            raise ConfigError("choose one copy source: copy (longest match) or lookup (n-gram)")
        if self.tree != "auto":
            tree = get_tree(self.tree)
            check_fits(tree, self.k)
            object.__setattr__(self, "tree", tree)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TRConfig:
        if name not in PRESETS:
            raise ConfigError(f"unknown config preset {name!r}; choose from {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def resolve_tree(
        self,
        device_type: str,
        dtype_name: str,
        model_name: str | None = None,
        sampling: bool = False,
    ) -> Tree:
        """The concrete tree for a device (``"cpu"``/``"cuda"``) and dtype (``"float32"``...).

        For ``"auto"``: when ``sampling``, the ``AUTO_SAMPLING_TREES`` entry if there is one;
        else the tree ``trviz bench --sweep-trees`` measured best for this model, device and
        dtype when that sweep is cached, else the static ``AUTO_TREES`` table.
        """
        if isinstance(self.tree, Tree):
            return self.tree
        if self.budget:
            tree = get_tree(AUTO_CANDIDATES.get(device_type, FALLBACK_CANDIDATES))
            check_fits(tree, self.k)
            return tree
        key = (device_type, dtype_name)
        name = AUTO_SAMPLING_TREES.get(key) if sampling else None
        name = (
            name or swept_tree(model_name, device_type, dtype_name) or AUTO_TREES.get(key, "tr-24")
        )
        tree = get_tree(name)
        check_fits(tree, self.k)
        return tree

    def model_tree(self, model, sampling: bool = False) -> Tree:
        """:meth:`resolve_tree` for ``model``'s device, dtype and name (no lookup branch)."""
        return self.resolve_tree(
            model.device.type, dtype_name(model.dtype), model.name_or_path, sampling
        )

    def step_tree(self, model, sampling: bool = False) -> tuple[Tree, tuple[int, ...]]:
        """The tree one step verifies on ``model`` (:meth:`model_tree`), with the copy branch
        when ``lookup`` or ``copy`` is on, and that branch's node indices (root-side first; empty
        without one). ``tree.size`` is the tokens per forward. With ``budget`` this is the
        candidate template, and no branch: copies join the candidates each step."""
        tree = self.model_tree(model, sampling)
        branch = self.lookup or self.copy
        if self.budget or not branch:
            return tree, ()
        tree, chain = with_lookup_branch(tree, branch, self.k)
        check_fits(tree, self.k)
        return tree, chain

    def with_(self, **changes: Any) -> TRConfig:
        return replace(self, **changes)

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
        return TRConfig(**config)
    kind = type(config).__name__
    raise ConfigError(f"config must be a TRConfig, preset name or dict, not {kind}")
