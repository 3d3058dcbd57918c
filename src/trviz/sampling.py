"""Lossless sampling: process a node's logits, then draw one token per node.

Token Recycling's drafts are deterministic (a one-hot draft distribution), so exact verification
under sampling is a walk: draw ``x`` from the target distribution at the root; if a child carries
``x``, move to it and draw again; otherwise ``x`` is the bonus token. Each node's logits are
conditioned on exactly its own root-to-node context, so the committed tokens are distributed
exactly as plain sampling (``tests/test_sampling.py`` checks it against the model's exact
distribution). The decoder runs the walk one of two ways, same distribution:

- :func:`walk` (CPU): the walk itself, on the host. It draws only at the nodes it visits (the
  accepted path and the bonus, about MAT rows), where drawing at every node of a 22-node tree over
  a 49k vocabulary would cost a third of a bf16 step on a 2-core CPU.
- :func:`choose` on every node + :func:`trviz.verify.accept` (accelerators): ONE independent
  sample at every node, no loop and no host sync; a child is accepted iff it carries its parent's
  sample.

Two siblings carrying the same token would break the parallel form (verification would keep
whichever walk went deeper, a best-of-two bias), so :func:`first_siblings` blanks every repeat of
a token among its siblings before verification; only the first copy can be followed. :func:`walk`
follows the first copy by construction.

Processing order, as in Hugging Face ``generate``: temperature, then top-k, then top-p, then
softmax. ``temperature`` None or 0 means greedy (argmax), exactly as without sampling.
"""

from __future__ import annotations

import math
import random
from dataclasses import asdict, dataclass
from typing import Any

import torch

from trviz.checks import is_int, is_real
from trviz.errors import ConfigError

MAX_SEED = 2**64 - 1  # torch.Generator.manual_seed takes 64 bits


@dataclass(frozen=True)
class SamplingParams:
    """How to sample the next token. ``seed`` makes a run reproducible (None: a fresh seed)."""

    temperature: float = 1.0
    top_k: int | None = None
    top_p: float | None = None
    seed: int | None = None

    def __post_init__(self) -> None:
        t = self.temperature
        if not is_real(t) or not 0 < t < math.inf:
            raise ConfigError(f"temperature must be a positive finite number, got {t!r}")
        k = self.top_k
        if k is not None and (not is_int(k) or k < 1):
            raise ConfigError(f"top_k must be a positive int or None, got {k!r}")
        p = self.top_p
        if p is not None and (not is_real(p) or not 0 < p <= 1):
            raise ConfigError(f"top_p must be in (0, 1] or None, got {p!r}")
        check_seed(self.seed)
        for name, kind in (("temperature", float), ("top_k", int), ("top_p", float), ("seed", int)):
            value = getattr(self, name)
            if value is not None:  # plain Python numbers, so the trace meta is JSON
                object.__setattr__(self, name, kind(value))

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def sampling_params(
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    seed: int | None = None,
) -> SamplingParams | None:
    """The params for ``generate``/``greedy`` keywords; None (greedy) when temperature is None or
    0. A fresh seed is drawn when none is given, so the run's meta can record it. Every keyword is
    checked, the seed even for greedy: a value that means nothing is refused, never ignored."""
    check_seed(seed)
    if temperature is None or (is_real(temperature) and temperature == 0):
        if top_p is not None or top_k is not None:
            raise ConfigError("top_p/top_k need a temperature > 0 (temperature 0 means greedy)")
        return None
    if seed is None:
        seed = random.SystemRandom().randrange(2**63)
    return SamplingParams(temperature, top_k, top_p, seed)


def check_seed(seed: Any) -> None:
    """A seed is None or an int that ``torch.Generator.manual_seed`` takes (0..2**64-1)."""
    if seed is not None and (not is_int(seed) or not 0 <= seed <= MAX_SEED):
        raise ConfigError(f"seed must be an int in 0..2**64-1 or None, got {seed!r}")


def make_generator(params: SamplingParams | None, device: torch.device) -> torch.Generator | None:
    """The random stream of one run (None for greedy)."""
    if params is None:
        return None
    gen = torch.Generator(device=device)
    gen.manual_seed(params.seed)
    return gen


def process(logits: torch.Tensor, params: SamplingParams) -> torch.Tensor:
    """Probabilities ``[S, V]`` (float32) after temperature, top-k and top-p.

    ``logits / temperature`` as Hugging Face computes it, except in a row where that overflows
    (a temperature near 0: the row's maximum becomes inf and softmax NaN). There the logits'
    distances to their maximum are divided instead, a zero distance staying zero, which gives
    the limit distribution: the argmax, ties shared. Any positive finite temperature gives a
    distribution, never NaN (a huge one: uniform).
    """
    logits = logits.float()
    scores = logits / params.temperature
    gap = logits - logits.amax(-1, keepdim=True)  # <= 0, 0 at the maximum
    limit = torch.where(gap == 0, 0.0, gap / params.temperature)
    scores = torch.where(torch.isfinite(scores.amax(-1, keepdim=True)), scores, limit)
    if params.top_k is not None and params.top_k < scores.shape[-1]:
        kth = scores.topk(params.top_k, dim=-1).values[..., -1:]  # [S, 1]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    probs = scores.softmax(-1)
    if params.top_p is not None and params.top_p < 1:
        sorted_p, order = probs.sort(-1, descending=True)
        before = sorted_p.cumsum(-1) - sorted_p  # mass of the more likely tokens
        drop = torch.zeros_like(probs, dtype=torch.bool).scatter(-1, order, before >= params.top_p)
        probs = probs.masked_fill(drop, 0.0)
        probs = probs / probs.sum(-1, keepdim=True)
    return probs


def choose(
    logits: torch.Tensor, params: SamplingParams | None, generator: torch.Generator | None
) -> torch.Tensor:
    """One token per row of ``logits [S, V]``: the argmax when ``params`` is None, else an
    independent sample from each row's processed distribution. Returns ``[S]`` int64.

    Sampling is an exponential race (``argmax p / E`` with ``E ~ Exp(1)`` wins token ``i`` with
    probability ``p_i``), which needs no host sync. ``E = -log U`` with ``U`` uniform in float64:
    four times faster on CPU than ``Tensor.exponential_``, with 53-bit resolution.
    """
    if params is None:
        return logits.argmax(-1)
    probs = process(logits, params)
    dtype = torch.float32 if probs.device.type == "mps" else torch.float64  # MPS has no float64
    uniform = torch.rand(probs.shape, generator=generator, dtype=dtype, device=probs.device)
    return (probs / -uniform.log()).argmax(-1)


def walk(
    tokens: list[int],
    logits: torch.Tensor,
    children: tuple[tuple[int, ...], ...],
    params: SamplingParams,
    generator: torch.Generator | None,
) -> tuple[int, list[int]]:
    """The sampling walk down a drafted tree, on the host: ``(best node, samples [S])``.

    ``tokens [S]`` drafted ids (root at 0, -1 for an empty slot), ``logits [S, V]``, ``children``
    per node in BFS order. From the root: draw this node's sample; move to the first child that
    carries it, or stop (the sample is the bonus). ``samples`` holds each visited node's sample
    and -1 where the walk never drew.
    """
    samples = [-1] * len(tokens)
    node = 0
    while True:
        x = int(choose(logits[node : node + 1], params, generator)[0])
        samples[node] = x
        nxt = next((c for c in children[node] if tokens[c] == x), None)
        if nxt is None:
            return node, samples
        node = nxt


def first_siblings(tokens: torch.Tensor, parents_ext: torch.Tensor) -> torch.Tensor:
    """``tokens [S]`` with every repeat of a token among its siblings set to -1 (never accepted).

    ``parents_ext [S]`` gives each node's parent with the root's parent outside the tree, so the
    root is nobody's sibling. The first copy in BFS order is the one verification may follow.
    """
    s = tokens.shape[0]
    same = (tokens[:, None] == tokens[None, :]) & (parents_ext[:, None] == parents_ext[None, :])
    earlier = torch.ones(s, s, dtype=torch.bool, device=tokens.device).tril(-1)  # j < i
    repeat = (same & earlier).any(1)
    return torch.where(repeat, -1, tokens)
