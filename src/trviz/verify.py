"""Greedy verification: the longest root-to-node path whose every draft matches the model.

Node ``i`` is *correct* when its token equals the model's argmax at its parent. A node is
*accepted* when it and all its ancestors are correct. The deepest accepted node wins (ties: first
in BFS order; tied paths carry identical tokens, so the committed text does not depend on it).
The model's argmax at that node is the *bonus* token, the next step's root.
"""

from __future__ import annotations

import torch

from trviz.tree_attention import TreeTensors


def accept(tokens: torch.Tensor, argmax: torch.Tensor, tt: TreeTensors) -> torch.Tensor:
    """Index of the deepest accepted node, as a 0-d tensor (no host sync).

    tokens ``[S]`` drafted ids (root at 0), argmax ``[S]`` model argmax at every node.
    """
    correct = tokens == argmax[tt.parents]
    correct[0] = True
    bad = tt.ancestors_f @ (~correct).float()  # [S]: wrong nodes on each root-to-node path
    score = torch.where(bad == 0, tt.depths, -1)
    return score.argmax()
