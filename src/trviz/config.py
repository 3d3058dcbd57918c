"""Decoder configuration: a frozen dataclass validated on construction; presets are plain dicts.

``PAPER`` reproduces the reference implementation (80-node "2.2.2" tree, k=8, zero-initialised
matrix carried across prompts, no de-duplication). ``DEFAULT`` is what we recommend: a tree sized
for the device (a CPU cannot verify 81 tokens for free), the same matrix rule, and sibling
de-duplication so no tree slot is wasted on a repeated candidate. Stdlib only.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

from trviz.errors import ConfigError
from trviz.trees import Tree, check_fits, get_tree

PAPER: dict[str, Any] = {"name": "paper", "tree": "2.2.2", "k": 8, "dedupe": False}
DEFAULT: dict[str, Any] = {"name": "default", "tree": "auto", "k": 8, "dedupe": True}
PRESETS = {"paper": PAPER, "default": DEFAULT}

# Tree used by tree="auto", by (device type, dtype name). CPU verification cost grows quickly with
# the number of tokens per forward, so CPU trees are small; a GPU verifies 81 tokens almost free.
# Chosen from `python benchmarks/bench_core.py` sweeps on this project's 2-core CPU.
AUTO_TREES: dict[tuple[str, str], str] = {
    ("cpu", "float32"): "tr-12",
    ("cpu", "bfloat16"): "tr-24",
    ("cpu", "float16"): "tr-24",
    ("cuda", "float32"): "2.2.2",
    ("cuda", "bfloat16"): "2.2.2",
    ("cuda", "float16"): "2.2.2",
}


@dataclass(frozen=True)
class TRConfig:
    """How Token Recycling drafts and updates.

    tree: a preset name (``trviz.trees.PRESETS``), ``"auto"`` (chosen per device and dtype), a
        :class:`~trviz.trees.Tree`, or a list of child-rank paths.
    k: candidates kept per matrix row (the paper uses 8).
    dedupe: skip sibling candidates whose token already appears among earlier siblings or that
        were never written (the paper drafts them anyway, wasting tree slots).
    seed_from_prompt: before decoding, write the rows of the prompt's tokens from the prefill
        logits (a known variant; the paper starts from whatever the matrix holds).
    lookup: length of an extra root branch drafted by prompt lookup (tokens that followed the
        latest earlier occurrence of the context's last ``lookup_ngram``..1 tokens); 0 = off
        (the paper). Without a match the branch is drafted from the matrix like the others.
    chat: apply the tokenizer's chat template to string prompts (None: when the tokenizer has one).
    """

    tree: Any = "auto"
    k: int = 8
    dedupe: bool = True
    seed_from_prompt: bool = False
    lookup: int = 0
    lookup_ngram: int = 3
    chat: bool | None = None
    name: str = "custom"

    def __post_init__(self) -> None:
        if not isinstance(self.k, int) or self.k < 1:
            raise ConfigError(f"k must be a positive int, got {self.k!r}")
        if self.lookup < 0 or self.lookup_ngram < 1:
            raise ConfigError("lookup must be >= 0 and lookup_ngram >= 1")
        if self.tree != "auto":
            tree = get_tree(self.tree)
            check_fits(tree, self.k)
            object.__setattr__(self, "tree", tree)

    @classmethod
    def preset(cls, name: str, **overrides: Any) -> TRConfig:
        if name not in PRESETS:
            raise ConfigError(f"unknown config preset {name!r}; choose from {sorted(PRESETS)}")
        return cls(**{**PRESETS[name], **overrides})

    def resolve_tree(self, device_type: str, dtype_name: str,
                     model_name: str | None = None) -> Tree:
        """The concrete tree for a device (``"cpu"``/``"cuda"``) and dtype (``"float32"``...).

        For ``"auto"``: the tree ``trviz bench --sweep-trees`` measured best for this model,
        device and dtype when that sweep is cached, else the static ``AUTO_TREES`` table.
        """
        if isinstance(self.tree, Tree):
            return self.tree
        from trviz.bench.sweep_cache import swept_tree  # stdlib-only reader of the cached sweep

        swept = swept_tree(model_name, device_type, dtype_name)
        name = swept or AUTO_TREES.get((device_type, dtype_name), "tr-24")
        tree = get_tree(name)
        check_fits(tree, self.k)
        return tree

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
    raise ConfigError(f"config must be a TRConfig, preset name or dict, not {type(config).__name__}")
