"""A chi-square goodness-of-fit test, written out (stdlib only; no scipy in this project).

Used by the speculative-sampling exercise (notebook 07), by notebook 07's check that Token
Recycling samples what plain sampling samples, and by ``tests/test_sampling.py``.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Hashable, Mapping


def upper_gamma_q(a: float, x: float) -> float:
    """Regularised upper incomplete gamma Q(a, x): series below a + 1, continued fraction above."""
    if x <= 0:
        return 1.0
    log_front = a * math.log(x) - x - math.lgamma(a)
    if x < a + 1:
        term = total = 1.0 / a
        n = a
        while abs(term) > 1e-15 * abs(total):
            n += 1
            term *= x / n
            total += term
        return 1.0 - total * math.exp(log_front)
    tiny = 1e-300  # modified Lentz
    b = x + 1 - a
    c, d = 1 / tiny, 1 / b
    h = d
    for i in range(1, 10_000):
        an = -i * (i - a)
        b += 2
        d = an * d + b
        d = tiny if abs(d) < tiny else d
        c = b + an / c
        c = tiny if abs(c) < tiny else c
        d = 1 / d
        h *= d * c
        if abs(d * c - 1) < 1e-15:
            break
    return math.exp(log_front) * h


def chi_square(
    counts: Mapping[Hashable, int], probs: Mapping[Hashable, float]
) -> tuple[float, float, int]:
    """(statistic, p-value, degrees of freedom) of observed ``counts`` against exact ``probs``.

    Cells expected below 5 are pooled into one bin, as the chi-square approximation requires.
    A drawn cell that ``probs`` gives probability 0 (or does not list) makes the p-value 0.
    """
    n = sum(counts.values())
    if any(probs.get(cell, 0.0) <= 0 for cell, c in counts.items() if c):
        return math.inf, 0.0, 0
    stat, pooled_obs, pooled_exp, bins = 0.0, 0, 0.0, 0
    for cell, p in probs.items():
        exp = n * p
        if exp >= 5:
            stat += (counts.get(cell, 0) - exp) ** 2 / exp
            bins += 1
        else:
            pooled_obs += counts.get(cell, 0)
            pooled_exp += exp
    if pooled_exp > 0:
        stat += (pooled_obs - pooled_exp) ** 2 / pooled_exp
        bins += 1
    df = bins - 1
    if df < 1:  # one bin: nothing to test
        return stat, 1.0, 0
    return stat, upper_gamma_q(df / 2, stat / 2), df


def largest_gap(counts: Counter, probs: Mapping[Hashable, float]) -> tuple[Hashable, float, float]:
    """The cell whose observed frequency is furthest from its probability: (cell, seen, p)."""
    n = sum(counts.values()) or 1
    cells = set(probs) | set(counts)
    cell = max(cells, key=lambda c: abs(counts.get(c, 0) / n - probs.get(c, 0.0)))
    return cell, counts.get(cell, 0) / n, probs.get(cell, 0.0)
