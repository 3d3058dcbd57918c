"""Verification: which drafted nodes the model accepts, and the bonus token after them.

Greedy: node ``i`` is *correct* when its token equals the model's argmax at its parent; a node
is *accepted* when it and all its ancestors are correct. The deepest accepted node wins (ties:
first in BFS order; tied paths carry identical tokens, so the committed text does not depend on
it). The model's argmax at that node is the *bonus* token, the next step's root.

Sampling (``trviz.sampling``): the model's sample at each node stands in for its argmax, and only
the first of several siblings carrying the same token may be followed. Two forms, same
distribution, chosen per run (``TRConfig.sampling_verify``): the host walk draws only at the
nodes it visits; the parallel form draws at every node with no host sync.

:func:`verify` is the one entry the decode step calls; it returns a :class:`Verdict` with
exactly one device->host read.
"""

from __future__ import annotations

from typing import NamedTuple

import torch

from trviz.sampling import SamplingParams, choose, first_siblings, walk
from trviz.tree_attention import TreeTensors


class Verdict(NamedTuple):
    """The outcome of verifying one drafted tree."""

    choice: torch.Tensor  # [S] the model's argmax (sampling: its sample, -1 where none drawn)
    best: int  # index of the deepest accepted node (0: only the root)
    bonus: int  # the model's choice after ``best``: the next root
    host_tokens: list[int]  # the drafted tokens, read to the host with the decision


def accept(tokens: torch.Tensor, argmax: torch.Tensor, tt: TreeTensors) -> torch.Tensor:
    """Index of the deepest accepted node, as a 0-d tensor (no host sync).

    tokens ``[S]`` drafted ids (root at 0), argmax ``[S]`` model argmax at every node.
    """
    correct = tokens == argmax[tt.parents]
    correct[0] = True
    bad = tt.ancestors_f @ (~correct).float()  # [S]: wrong nodes on each root-to-node path
    score = torch.where(bad == 0, tt.depths, -1)
    return score.argmax()


def verify(
    tokens: torch.Tensor,
    logits: torch.Tensor,
    tt: TreeTensors,
    sampling: SamplingParams | None = None,
    generator: torch.Generator | None = None,
    host_walk: bool = False,
) -> Verdict:
    """Verify drafted ``tokens [S]`` against the model's ``logits [S, V]``.

    Greedy when ``sampling`` is None; otherwise the host walk (``host_walk``) or the parallel
    draw. Either way one device->host read brings back the decision and the drafted tokens.
    """
    if sampling is not None and host_walk:
        host_tokens = tokens.tolist()
        best, samples = walk(host_tokens, logits, tt.tree.children, sampling, generator)
        choice = torch.tensor(samples, device=tokens.device)
        return Verdict(choice, best, samples[best], host_tokens)
    choice = choose(logits, sampling, generator)  # [S]
    followable = tokens if sampling is None else first_siblings(tokens, tt.parents_ext)
    best_t = accept(followable, choice, tt)
    host = torch.cat([best_t.view(1), choice[best_t].view(1), tokens]).tolist()  # one sync
    return Verdict(choice, host[0], host[1], host[2:])
