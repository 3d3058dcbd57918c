"""Exercise checkers, as a table: your function vs trviz's reference, on shared hand-drawn cases.

Every exercise is one :class:`~tr_notebooks.checkers.core.Exercise` record (reference, an
independent solution, cases, comparison, hints, common mistakes) in :data:`EXERCISES`; the
checkers ``tr_notebooks.check_<name>(fn)``, :data:`CHECKERS`, :data:`REFERENCES` and
:data:`SOLUTIONS` all come from it. A check returns a :class:`Verdict`: the first mismatch in
words, the common mistake it looks like (if any) and a hint, or "all cases pass". It never raises.

Exercises use plain Python lists and dicts, not tensors. The hand-drawn tree most cases use::

    node: path          0 (root)
      1: [0]            |-- 1 [0]
      2: [1]            |   |-- 4 [0,0]
      3: [2]            |   |   `-- 7 [0,0,0]
      4: [0,0]          |   `-- 5 [0,1]
      5: [0,1]          |-- 2 [1]
      6: [1,0]          |   `-- 6 [1,0]
      7: [0,0,0]        `-- 3 [2]
"""

from __future__ import annotations

from collections.abc import Callable

from tr_notebooks.checkers import attention, loop, matrix, sampling, verify
from tr_notebooks.checkers.core import Case, Exercise, Mistake, Verdict

# In course order: notebook, then the order the exercises appear in it.
EXERCISES: dict[str, Exercise] = {
    ex.name: ex
    for ex in sorted(
        (
            *verify.EXERCISES,
            *matrix.EXERCISES,
            *attention.EXERCISES,
            *loop.EXERCISES,
            *sampling.EXERCISES,
        ),
        key=lambda ex: ex.notebook,
    )
}
CHECKERS: dict[str, Callable[..., Verdict]] = {n: ex.checker() for n, ex in EXERCISES.items()}
REFERENCES: dict[str, Callable] = {n: ex.reference for n, ex in EXERCISES.items()}
SOLUTIONS: dict[str, Callable] = {n: ex.solution for n, ex in EXERCISES.items()}


def check(name: str, fn: Callable, **context) -> Verdict:
    """Check ``fn`` against exercise ``name`` (``context``: e.g. ``model=`` for tree_logits)."""
    return EXERCISES[name].check(fn, **context)


__all__ = [
    "EXERCISES", "CHECKERS", "REFERENCES", "SOLUTIONS", "check",
    "Exercise", "Case", "Mistake", "Verdict",
]  # fmt: skip
