"""Decoder configuration: a frozen dataclass validated on construction; presets are plain dicts.

``PAPER`` reproduces the reference implementation (80-node "2.2.2" tree, k=8, zero-initialised
matrix carried across prompts). ``DEFAULT`` is what we recommend: a tree sized for the device (a
CPU cannot verify 81 tokens for free), unwritten rows marked so they are never drafted, and a
5-node prompt-lookup branch (tokens copied from the context, which a first-order table cannot
predict: +23..27% MAT on SmolLM2 at 8-12 nodes, `python benchmarks/tree_mat.py`). Stdlib only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields
from typing import Any, NamedTuple

from trviz.checks import check_flag, int_at_least
from trviz.errors import ConfigError
from trviz.trees import PRESETS as TREE_PRESETS
from trviz.trees import Tree, check_fits, get_tree, with_lookup_branch

PAPER: dict[str, Any] = {"name": "paper", "tree": "2.2.2", "k": 8, "dedupe": False}
DEFAULT: dict[str, Any] = {"name": "default", "tree": "auto", "k": 8, "dedupe": True, "lookup": 5}
PRESETS = {"paper": PAPER, "default": DEFAULT}

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
SAMPLING_VERIFY = ("auto", "walk", "parallel")  # a device/dtype the tables do not know


class TreeChoice(NamedTuple):
    """The tree a run verifies and why: ``tree`` is what one step verifies (``tree.size`` tokens
    per forward, lookup branch included), ``chain`` the lookup branch's node indices (root side
    first; empty without lookup), ``base`` the matrix tree before the branch, ``source`` where
    the choice came from ("config", "table (...)", "sampling table (...)", "tree sweep (file)")."""

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
    lookup: length of an extra root branch drafted by prompt lookup (tokens that followed the
        latest earlier occurrence of the context's last ``lookup_ngram``..1 tokens); 0 = off
        (the paper). Without a match the branch is drafted from the matrix like the others.
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
    sampling_verify: str = "auto"
    name: str = "custom"

    def __post_init__(self) -> None:
        for name, minimum in (("k", 1), ("lookup", 0), ("lookup_ngram", 1)):
            object.__setattr__(self, name, int_at_least(name, getattr(self, name), minimum))
        check_flag("dedupe", self.dedupe)
        check_flag("seed_from_prompt", self.seed_from_prompt)
        if not isinstance(self.name, str):
            raise ConfigError(f"name must be a string, got {self.name!r}")
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
        (``"float32"``...), the lookup branch included, and why it was chosen.

        For ``tree="auto"``: when ``sampling``, the ``AUTO_SAMPLING_TREES`` entry if there is one;
        else ``swept`` (``(tree name, where it came from)``: what ``trviz bench --sweep-trees``
        measured best on this machine, passed in by :func:`trviz.run.choose_tree`), else the static
        ``AUTO_TREES`` table. Pure: reads no file.
        """
        key = (device_type, dtype_name)
        if isinstance(self.tree, Tree):
            base, source = self.tree, "config"
        elif sampling and key in AUTO_SAMPLING_TREES:
            base, source = get_tree(AUTO_SAMPLING_TREES[key]), f"sampling table {key}"
        elif swept is not None and swept[0] in TREE_PRESETS:
            base, source = get_tree(swept[0]), f"tree sweep ({swept[1]})"
        else:
            base, source = get_tree(AUTO_TREES.get(key, FALLBACK_TREE)), f"table {key}"
        check_fits(base, self.k)
        if not self.lookup:
            return TreeChoice(base, (), base, source)
        tree, chain = with_lookup_branch(base, self.lookup, self.k)
        check_fits(tree, self.k)
        return TreeChoice(tree, chain, base, source)

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
