"""Running acceptance estimates per draft-node position, learned online from what was accepted.

A drafted node is *correct* when its token is the one the model commits after its parent. The
per-step budget (:mod:`trviz.budget`) needs, for every candidate node, the probability that it is
correct given that its parent was accepted; this module estimates it per node *class*:

- a node drafted from the matrix: ``(depth, rank)``, the column of its parent's row it reads
  (depth capped at :data:`MAX_DEPTH`);
- a node copied from the context: ``(branch, match length)``, whether it is on the primary
  continuation or an alternative one, and the length of the context suffix that its copy extends
  (the step's longest match plus the copied tokens above it), in :data:`MATCH_BUCKETS`;

and every class separately per *regime*: how many drafted tokens the previous step accepted
(0, 1, or more; :data:`REGIMES`). Acceptance comes in runs: where the model writes text no
drafter predicts, the previous step accepted nothing and this one likely accepts nothing too.

Every candidate whose parent lies on the committed path is scored after the step, verified or
pruned alike (the committed tokens are the truth either way), so pruning a class never starves
it of evidence. Counts decay with a horizon of :data:`HORIZON` observations per class, so the
estimates follow the text being written; each starts from a prior worth :data:`PRIOR_WEIGHT`
observations. Plain lists of floats: it is saved with the matrix (hot start) as JSON-able data.
Stdlib only.
"""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from trviz.errors import MatrixError
from trviz.trees import DEFAULT_RATES

MAX_DEPTH = 8
# Upper bounds of the match-length buckets (the last one is open-ended).
MATCH_BUCKETS = (1, 2, 3, 4, 6, 8, 12, 16, 24, 32, 48, 64)
REGIMES = 3
HORIZON = 100.0
PRIOR_WEIGHT = 4.0
FORMAT = "trviz.acceptance/1"

# Priors: matrix ranks from trviz.trees.DEFAULT_RATES (share of positions whose true next token
# sits at rank r of the row read); copies: P(correct) per match bucket, primary then alternative.
MATRIX_PRIOR = DEFAULT_RATES
COPY_PRIOR = (0.30, 0.40, 0.50, 0.58, 0.65, 0.70, 0.75, 0.80, 0.84, 0.87, 0.90, 0.92)
ALT_COPY_FACTOR = 0.5


def match_bucket(length: int) -> int:
    """Index of the :data:`MATCH_BUCKETS` bucket holding a match of ``length`` >= 1 tokens."""
    return min(bisect_left(MATCH_BUCKETS, length), len(MATCH_BUCKETS) - 1)


class Acceptance:
    """Decayed hit/trial counts per node class, with the current estimate of each.

    Classes are flat indices: per regime, matrix ``(depth, rank)`` first (:meth:`matrix_class`),
    then copy ``(branch, bucket)`` (:meth:`copy_class`); add :meth:`offset` of the regime.
    ``rate[c]`` is the current estimate of class ``c``.
    """

    def __init__(self, k: int, horizon: float = HORIZON, prior_weight: float = PRIOR_WEIGHT):
        if k < 1:
            raise ValueError(f"k must be >= 1, got {k}")
        self.k, self.horizon, self.prior_weight = k, float(horizon), float(prior_weight)
        self._copy_base = MAX_DEPTH * k
        base = [_matrix_prior(r) for _ in range(MAX_DEPTH) for r in range(k)] + [
            p * (ALT_COPY_FACTOR if alt else 1.0) for alt in (0, 1) for p in COPY_PRIOR
        ]
        self.n_base = len(base)
        self.prior = base * REGIMES
        self.hits = [0.0] * len(self.prior)
        self.trials = [0.0] * len(self.prior)
        self.rate = list(self.prior)

    @property
    def n_classes(self) -> int:
        return len(self.rate)

    def matrix_class(self, depth: int, rank: int) -> int:
        """Class of a node at ``depth`` >= 1 reading column ``rank`` of its parent's row."""
        return (min(depth, MAX_DEPTH) - 1) * self.k + rank

    def copy_class(self, branch: int, match_len: int) -> int:
        """Class of a copied node on ``branch`` (0: primary) extending a ``match_len`` match."""
        return self._copy_base + (len(MATCH_BUCKETS) if branch else 0) + match_bucket(match_len)

    def offset(self, accepted_before: int) -> int:
        """Class offset of the regime after a step that accepted ``accepted_before`` drafts."""
        return min(accepted_before, REGIMES - 1) * self.n_base

    def observe(self, cls: int, hit: bool) -> None:
        """One node of class ``cls`` was scored: correct (``hit``) or not."""
        keep = 1.0 - 1.0 / self.horizon
        h = self.hits[cls] = self.hits[cls] * keep + (1.0 if hit else 0.0)
        t = self.trials[cls] = self.trials[cls] * keep + 1.0
        w = self.prior_weight
        self.rate[cls] = (h + w * self.prior[cls]) / (t + w)

    def clone(self) -> Acceptance:
        new = Acceptance.__new__(Acceptance)
        new.__dict__.update(self.__dict__)
        new.hits, new.trials, new.rate = list(self.hits), list(self.trials), list(self.rate)
        return new

    def summary(self, accepted_before: int = 0) -> dict[str, list[float]]:
        """Current estimates in one regime: ``{"matrix": [depth-1 rates by rank], "copy":
        [primary by match bucket], "alt": [...]}`` (what a person reads; :meth:`to_dict` is what
        is saved)."""
        nb, off = len(MATCH_BUCKETS), self.offset(accepted_before)
        c = off + self._copy_base
        return {
            "matrix": [round(x, 3) for x in self.rate[off : off + self.k]],
            "copy": [round(x, 3) for x in self.rate[c : c + nb]],
            "alt": [round(x, 3) for x in self.rate[c + nb : c + 2 * nb]],
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "k": self.k,
            "max_depth": MAX_DEPTH,
            "match_buckets": list(MATCH_BUCKETS),
            "regimes": REGIMES,
            "horizon": self.horizon,
            "prior_weight": self.prior_weight,
            "hits": list(self.hits),
            "trials": list(self.trials),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Acceptance:
        """Rebuild saved estimates; raise :class:`~trviz.errors.MatrixError` if they were saved
        with another layout (start fresh estimates then: ``Acceptance(k)``)."""
        if not isinstance(d, dict) or d.get("format") != FORMAT:
            raise MatrixError("acceptance estimates: not a trviz.acceptance/1 record")
        new = cls(int(d["k"]), float(d["horizon"]), float(d["prior_weight"]))
        same = (
            d.get("max_depth") == MAX_DEPTH
            and d.get("match_buckets") == list(MATCH_BUCKETS)
            and d.get("regimes") == REGIMES
        )
        if not same or len(d["hits"]) != new.n_classes or len(d["trials"]) != new.n_classes:
            raise MatrixError("acceptance estimates were saved with another class layout")
        new.hits, new.trials = [float(x) for x in d["hits"]], [float(x) for x in d["trials"]]
        w = new.prior_weight
        new.rate = [(h + w * p) / (t + w) for h, t, p in zip(new.hits, new.trials, new.prior)]
        return new


def _matrix_prior(rank: int, rates: Sequence[float] = MATRIX_PRIOR) -> float:
    return rates[rank] if rank < len(rates) else rates[-1]
