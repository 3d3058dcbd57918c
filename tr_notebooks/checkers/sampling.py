"""Speculative sampling with a draft model (notebook 07): the accept/reject rule min(1, p/q) and
the residual resampling, checked statistically.

The student writes ``fn(p, q, x, rng) -> token``: ``x`` was drawn from the draft model's
distribution ``q``; keep it with probability ``min(1, p[x] / q[x])``, otherwise draw from the
residual ``max(0, p - q)`` (normalised). Whatever ``q`` is, the token returned is distributed as
``p`` (Leviathan et al. 2023; Chen et al. 2023). The checker draws many ``x`` from ``q`` with a
seeded generator, calls the function for each, and compares the counts with ``p`` by a chi-square
goodness-of-fit test. The common mistakes come with the exact distribution they lead to, so a
wrong answer is recognised by the same test.
"""

from __future__ import annotations

import random
from collections import Counter
from typing import Any

from tr_notebooks.checkers.core import Case, Exercise, Mistake
from tr_notebooks.stats import chi_square, largest_gap

DRAWS = 4000  # per case: a 10-point gap in one token's frequency gives chi2 > 100
ALPHA = 1e-4  # a right rule fails a case 1 time in 10,000 (deterministic: seeded generators)


def target(p: list[float], q: list[float]) -> list[float]:
    """What the rule must produce: tokens distributed as the target ``p``, whatever ``q`` is."""
    total = sum(p)
    return [pi / total for pi in p]


def speculative_sample(p: list[float], q: list[float], x: int, rng: random.Random) -> int:
    """The rule as written in the papers. trviz itself has no draft model: its drafts are
    deterministic (q one-hot), where this rule is ``trviz.sampling.walk`` on a one-child tree
    (``tests/test_properties.py`` checks both give p)."""
    if rng.random() < min(1.0, p[x] / q[x]):
        return x
    residual = [max(0.0, pi - qi) for pi, qi in zip(p, q)]
    return rng.choices(range(len(p)), weights=residual)[0]


def speculative_sample_by_inverse(p: list[float], q: list[float], x: int, rng) -> int:
    """The same rule written independently: no ratio, inverse-CDF draw from the residual."""
    if rng.random() * q[x] < p[x]:
        return x
    residual = [max(0.0, pi - qi) for pi, qi in zip(p, q)]
    v, acc = rng.random() * sum(residual), 0.0
    for token, weight in enumerate(residual):
        acc += weight
        if v < acc:
            return token
    return max(range(len(residual)), key=residual.__getitem__)


def _draw(fn, args: dict[str, Any]) -> Counter:
    """The student's tokens for DRAWS drafts x ~ q (seeded: the same every run)."""
    p, q = args["p"], args["q"]
    drafts, rng = random.Random(0), random.Random(1)
    counts: Counter = Counter()
    for _ in range(DRAWS):
        x = drafts.choices(range(len(q)), weights=q)[0]
        counts[fn(list(p), list(q), x, rng)] += 1
    return counts


def explain_distribution(args: dict[str, Any], expected: list[float], got: Counter) -> str | None:
    probs = dict(enumerate(expected))
    odd = [t for t in got if t not in probs]
    if odd:
        return f"returned {odd[0]!r}, which is not a token index 0..{len(expected) - 1}"
    stat, pvalue, df = chi_square(got, probs)
    if pvalue >= ALPHA:
        return None
    tok, seen, want = largest_gap(got, probs)
    n = sum(got.values())
    freqs = [round(got.get(t, 0) / n, 3) for t in range(len(expected))]
    return (
        f"over {n} drafts your tokens do not follow the target p (chi-square {stat:.1f}, df {df}, "
        f"p-value {pvalue:.1e}): frequencies {freqs}; token {tok}: {seen:.3f} against "
        f"p = {want:.3f}"
    )


def _mix(p: list[float], q: list[float], keep: list[float], fallback: list[float]) -> list[float]:
    """Exact output distribution of a rule that keeps draft x with probability keep[x] and
    otherwise draws from ``fallback`` (normalised)."""
    kept = [qi * ki for qi, ki in zip(q, keep)]
    rejected = 1.0 - sum(kept)
    total = sum(fallback) or 1.0
    return [k + rejected * f / total for k, f in zip(kept, fallback)]


def _residual(p: list[float], q: list[float]) -> list[float]:
    return [max(0.0, pi - qi) for pi, qi in zip(p, q)]


def _ratio(p: list[float], q: list[float]) -> list[float]:
    return [min(1.0, pi / qi) if qi > 0 else 1.0 for pi, qi in zip(p, q)]


def _resample_from(dist_of, keep_of):
    """A wrong rule as code: keep x with keep_of(p, q)[x], else draw from dist_of(p, q)."""

    def rule(p, q, x, rng):
        if rng.random() < keep_of(p, q)[x]:
            return x
        return rng.choices(range(len(p)), weights=dist_of(p, q))[0]

    return rule


SPECULATIVE_SAMPLE = Exercise(
    name="speculative_sample",
    notebook="07",
    task="fn(p, q, x, rng) -> token: keep draft x ~ q with prob min(1, p[x]/q[x]), else resample",
    reference=speculative_sample,
    solution=speculative_sample_by_inverse,
    cases=(
        Case(
            "an over-confident draft model", {"p": [0.1, 0.2, 0.3, 0.4], "q": [0.7, 0.1, 0.1, 0.1]}
        ),
        Case("an under-confident draft model", {"p": [0.7, 0.1, 0.1, 0.1], "q": [0.25] * 4}),
        Case(
            "a perfect draft model (q = p)", {"p": [0.4, 0.3, 0.2, 0.1], "q": [0.4, 0.3, 0.2, 0.1]}
        ),
        Case(
            "the draft proposes tokens the target never writes",
            {"p": [0.5, 0.5, 0.0, 0.0], "q": [0.25] * 4},
        ),
        Case(
            "Token Recycling's draft: q is one-hot", {"p": [0.2, 0.5, 0.3, 0.0], "q": [0, 0, 1, 0]}
        ),
    ),
    explain=explain_distribution,
    hint="draw u = rng.random(); if u < min(1, p[x] / q[x]) return x; otherwise return a draw "
    "from the residual max(0, p - q): rng.choices(range(len(p)), weights=residual)[0].",
    mistakes=(
        Mistake(
            "every draft was accepted: the output follows q, not p",
            lambda p, q, x, rng: x,
            "keep x only with probability min(1, p[x] / q[x]): a draft model that over-proposes "
            "a token must be corrected, or the text follows the draft model.",
            expect=lambda p, q: list(q),
        ),
        Mistake(
            "after a rejection the token was drawn from p, not from the residual",
            _resample_from(lambda p, q: p, _ratio),
            "accepted drafts already supply min(p, q) of every token's probability; a "
            "rejection must add only what is missing: max(0, p - q), normalised.",
            expect=lambda p, q: _mix(p, q, _ratio(p, q), p),
        ),
        Mistake(
            "a draft was kept with probability p[x], forgetting to divide by q[x]",
            _resample_from(_residual, lambda p, q: p),
            "x was proposed with probability q[x]: keep it with min(1, p[x] / q[x]) so that "
            "q[x] x keep = min(p[x], q[x]).",
            expect=lambda p, q: _mix(p, q, p, _residual(p, q)),
        ),
        Mistake(
            "a draft was kept whenever p[x] >= q[x], with no random draw",
            _resample_from(_residual, lambda p, q: [float(pi >= qi) for pi, qi in zip(p, q)]),
            "when p[x] < q[x] keep x sometimes (probability p[x] / q[x]), not never: a "
            "random draw u decides.",
            expect=lambda p, q: _mix(
                p, q, [float(pi >= qi) for pi, qi in zip(p, q)], _residual(p, q)
            ),
        ),
    ),
    collect=_draw,
    target=target,
    tolerant=True,
)

EXERCISES = (SPECULATIVE_SAMPLE,)
