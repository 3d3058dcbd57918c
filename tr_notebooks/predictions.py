"""Prediction questions: write down what you expect, measure, then put the two side by side.

``compare(question, predicted, measured)`` takes your prediction (a number per option, or just the
option you expect to win) and your own measurement (a number per option), and returns a
:class:`~tr_notebooks.checkers.Verdict`: ``ok`` when you picked the option the measurement ranks
first, with a table of both and the relative error of every predicted number. The measurement is
the notebook's own (it depends on your machine and its load), so the verdict is about *your* run.
"""

from __future__ import annotations

from collections.abc import Mapping

from tr_notebooks.checkers.core import Verdict


def compare(
    question: str,
    predicted: Mapping[str, float] | str,
    measured: Mapping[str, float],
    unit: str = "",
    higher_is_better: bool = True,
) -> Verdict:
    """Your prediction next to your measurement; ``ok`` when both pick the same winner."""
    if not measured:
        raise ValueError("nothing measured to compare with")
    pick = max if higher_is_better else min
    best = pick(measured, key=measured.__getitem__)
    numbers = dict(predicted) if isinstance(predicted, Mapping) else {}
    guess = predicted if isinstance(predicted, str) else pick(numbers, key=numbers.__getitem__)
    lines = [f"{question}", f"  {'':12s} {'predicted':>10s} {'measured':>10s}"]
    for name, value in measured.items():
        mine = numbers.get(name)
        shown = "" if mine is None else f"{mine:10.2f}"
        error = "" if not mine or not value else f"  ({(mine - value) / value:+.0%})"
        lines.append(f"  {name:12s} {shown:>10s} {value:10.2f}{unit}{error}")
    ok = guess == best
    verdict = "the same winner" if ok else "a different winner"
    lines.insert(
        0,
        f"[{'match' if ok else 'differs'}] you predicted {guess!r}, your measurement "
        f"ranks {best!r} first: {verdict}.",
    )
    return Verdict(question, ok, int(ok), 1, "\n".join(lines))
