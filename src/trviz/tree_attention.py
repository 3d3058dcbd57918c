"""Tree attention: a template as tensors, plus the 4-D mask and position ids for one forward.

Each drafted node attends to the whole committed prefix, the root, its ancestors and itself; its
position id is ``prefix length + depth``. The unmodified HF model receives this as a 4-D
``attention_mask`` (boolean for SDPA, additive float for eager attention) and ``position_ids``.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from trviz.errors import ConfigError
from trviz.trees import Tree

BOOL_MASK_IMPLEMENTATIONS = ("sdpa",)
_BIT = torch.arange(8, dtype=torch.uint8)  # little-endian bit order within a byte
FLOAT_MASK_IMPLEMENTATIONS = ("eager",)


@dataclass(frozen=True)
class TreeTensors:
    """A :class:`Tree` on a device. ``S`` = tree size (root + drafted nodes).

    Built once per run for a static tree and once per step for the budget's trees, so
    :meth:`build` is a few tensor copies: the ancestor mask comes from per-node bit sets.
    """

    tree: Tree
    parents: torch.Tensor  # [S] long, root's parent clamped to 0
    ranks: torch.Tensor  # [S] long
    depths: torch.Tensor  # [S] long
    ancestors: torch.Tensor  # [S, S] bool: ancestors[i, j] = j is i or an ancestor of i
    ancestors_f: torch.Tensor  # [S, S] float32, for counting bad ancestors with one matmul
    parents_ext: torch.Tensor  # [S] parent index, with the root's parent = S (outside the tree)

    @classmethod
    def build(cls, tree: Tree, device: torch.device | str) -> TreeTensors:
        s, parents = tree.size, tree.parents
        sets = [1]  # bit j of sets[i]: node j is node i or one of its ancestors
        for i in range(1, s):
            sets.append(sets[parents[i]] | (1 << i))
        width = (s + 7) // 8
        packed = torch.frombuffer(
            bytearray(b"".join(b.to_bytes(width, "little") for b in sets)), dtype=torch.uint8
        ).view(s, width, 1)
        anc = ((packed >> _BIT) & 1).view(s, 8 * width)[:, :s].bool().to(device)
        rows = torch.tensor(
            [(0, *parents[1:]), tree.ranks, tree.depths, (s, *parents[1:])],
            dtype=torch.long,
            device=device,
        )
        return cls(tree, rows[0], rows[1], rows[2], anc, anc.float(), rows[3])

    @property
    def size(self) -> int:
        return self.tree.size

    def path(self, node: int) -> torch.Tensor:
        """Root-to-``node`` indices ``[depth + 1]`` (what compaction keeps)."""
        return torch.tensor(self.tree.ancestors[node], device=self.parents.device)


def mask_kind(model) -> str:
    """``"bool"`` or ``"float"``: how this model's attention wants a custom 4-D mask."""
    impl = getattr(model.config, "_attn_implementation", None) or "eager"
    if impl in BOOL_MASK_IMPLEMENTATIONS:
        return "bool"
    if impl in FLOAT_MASK_IMPLEMENTATIONS:
        return "float"
    raise ConfigError(
        f"attention implementation {impl!r} cannot take a tree mask; load the model with "
        "attn_implementation='sdpa' or 'eager'"
    )


def tree_mask(tt: TreeTensors, prefix_len: int, kind: str, dtype: torch.dtype) -> torch.Tensor:
    """The 4-D mask ``[1, 1, S, prefix_len + S]``: all of the prefix, then tree ancestry."""
    s = tt.size
    allowed = torch.cat(
        [torch.ones(s, prefix_len, dtype=torch.bool, device=tt.ancestors.device), tt.ancestors], 1
    )
    if kind == "bool":
        return allowed[None, None]
    neg = torch.finfo(dtype).min
    return torch.zeros(allowed.shape, dtype=dtype, device=allowed.device).masked_fill_(
        ~allowed, neg
    )[None, None]


def tree_positions(tt: TreeTensors, prefix_len: int) -> torch.Tensor:
    """Position ids ``[1, S]``: prefix length + depth."""
    return (tt.depths + prefix_len)[None]
