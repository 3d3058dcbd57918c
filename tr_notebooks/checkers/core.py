"""The exercise record and how a check runs: :class:`Exercise`, :class:`Case`, :class:`Mistake`.

An exercise is data: trviz's reference (the library's answer, through plain lists), an independent
plain-Python solution (the answer key, and the oracle of ``tests/test_properties.py``), shared
hand-drawn cases, how an answer is compared and explained in words, a general hint, and the common
wrong answers. A :class:`Mistake` is a wrong answer written as code with the hint that names it:
when a student's answer agrees with a mistake's on the case that failed, the verdict names the
mistake and gives its hint instead of the general one.

A check never raises: an exception inside the student's function is reported as a mismatch, so a
notebook whose exercise is still a stub runs top to bottom (and under nbval).
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from trviz.trees import Tree

Explain = Callable[[dict[str, Any], Any, Any], "str | None"]
Collect = Callable[[Callable, dict[str, Any]], Any]


@dataclass(frozen=True)
class Verdict:
    """The result of a check: ``ok``, how many cases passed, the message in words, and the name
    of the common mistake the answer was recognised as (None when none matched)."""

    exercise: str
    ok: bool
    passed: int
    total: int
    message: str
    mistake: str | None = None

    def __bool__(self) -> bool:
        return self.ok

    def __repr__(self) -> str:
        return self.message

    def _repr_pretty_(self, p, cycle: bool) -> None:  # IPython display: the message, verbatim
        p.text(self.message)


@dataclass(frozen=True)
class Case:
    """One hand-drawn case: a name, and the arguments passed to the student's function."""

    name: str
    args: dict[str, Any]


@dataclass(frozen=True)
class Mistake:
    """A common wrong answer: ``answer`` is the mistake as code (the student's parameters),
    ``hint`` what to change. ``expect``, for statistical exercises, gives the exact distribution
    the mistake leads to (its answers are samples, judged against it as against the target)."""

    name: str
    answer: Callable
    hint: str
    expect: Callable | None = None


def call(fn: Callable, args: dict[str, Any]) -> Any:
    """The default way to collect an answer: positional call (any parameter names), fresh copies
    of the arguments (a function that mutates them cannot spoil the next case), plain result."""
    return plain(fn(*copy.deepcopy(args).values()))


@dataclass(frozen=True)
class Exercise:
    """One exercise, from which its checker, registry entries and exports all come."""

    name: str
    notebook: str  # "01".."07": where the exercise cell is
    task: str  # the function the student writes, in one line
    reference: Callable  # trviz's answer, via the library
    solution: Callable  # an independent plain-Python answer
    cases: tuple[Case, ...]
    explain: Explain  # (args, expected, got) -> the mismatch in words, or None when they agree
    hint: str  # when no common mistake matches
    mistakes: tuple[Mistake, ...] = ()
    collect: Collect = call  # how the student's answer is obtained from their function
    target: Callable | None = None  # the expected answer, when it is not the reference's output
    tolerant: bool = False  # answers agree when ``explain`` finds no mismatch (floats, samples)

    def check(self, fn: Callable, **context: Any) -> Verdict:
        """Run ``fn`` on every case; the first mismatch in words, or "all cases pass".

        ``context`` (e.g. ``model=``) is passed to every function before the case's arguments.
        """
        for passed, case in enumerate(self.cases):
            args = {**context, **case.args}
            expected = self.target(**args) if self.target else self.reference(**args)
            try:
                got = self.collect(fn, args)
            except Exception as e:  # the student's code: report it, never crash the notebook
                problem = f"your function raised {type(e).__name__}: {e}"
                return self._fail(passed, case, problem, None)
            problem = self.explain(args, expected, got)
            if problem:
                return self._fail(passed, case, problem, self.diagnose(args, got))
        n = len(self.cases)
        msg = f"[pass] {self.name}: all {n} hand-drawn cases match trviz's reference."
        return Verdict(self.name, True, n, n, msg)

    def diagnose(self, args: dict[str, Any], got: Any) -> Mistake | None:
        """The first common mistake whose answer on this case agrees with ``got``."""
        for m in self.mistakes:
            try:
                wrong = m.expect(**args) if m.expect else self.collect(m.answer, args)
            except Exception:  # a mistake that cannot even run on this case is not this one
                continue
            if self._agree(args, wrong, got):
                return m
        return None

    def _agree(self, args: dict[str, Any], a: Any, b: Any) -> bool:
        if self.tolerant:
            return self.explain(args, a, b) is None
        return type(a) is type(b) and a == b

    def checker(self) -> Callable[..., Verdict]:
        """``check`` as a stand-alone function named ``check_<name>``, documented by the task."""

        def check(fn: Callable, **context: Any) -> Verdict:
            return self.check(fn, **context)

        check.__name__ = check.__qualname__ = f"check_{self.name}"
        check.__doc__ = f"Check ``{self.task}`` (notebook {self.notebook}) on the shared cases."
        return check

    def _fail(self, passed: int, case: Case, problem: str, mistake: Mistake | None) -> Verdict:
        shown = ", ".join(f"{k}={v!r}" for k, v in case.args.items())
        lines = [
            f"[not yet] {self.name}: {passed}/{len(self.cases)} cases pass. First mismatch, "
            f"case {case.name!r}",
            f"  inputs: {shown}",
            f"  {problem}",
        ]
        if mistake is not None:
            lines.append(f"  diagnosis: {mistake.name}")
        lines.append(f"  hint: {mistake.hint if mistake else self.hint}")
        name = mistake.name if mistake else None
        return Verdict(self.name, False, passed, len(self.cases), "\n".join(lines), name)


# ----- helpers shared by the exercises ----------------------------------------------------------


def plain(value: Any) -> Any:
    """Tensors and tuples become lists, so students may return either."""
    if hasattr(value, "tolist"):
        value = value.tolist()
    if isinstance(value, tuple):
        value = list(value)
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    return value


def type_problem(got: Any, want: type, what: str) -> str | None:
    if not isinstance(got, want) or isinstance(got, bool) and want is not bool:
        return f"should return {what}, yours returned {type(got).__name__} {got!r}"
    return None


def tree_of(parents: list[int]) -> Tree:
    """A :class:`Tree` from a parent list; each parent's children take ranks 0, 1, ... in order."""
    ranks, seen = [0], {}
    for p in parents[1:]:
        ranks.append(seen.get(p, 0))
        seen[p] = ranks[-1] + 1
    return Tree(tuple(parents), tuple(ranks))


def path_of(parents: list[int], node: int) -> list[int]:
    """Child-rank path of ``node`` (what the notebooks call a node: ``[0, 1]``...)."""
    return list(tree_of(parents).paths[node])


def ancestors(parents: list[int], node: int) -> list[int]:
    """``node`` and its ancestors, root first (plain Python: used by the solutions)."""
    out = [node]
    while parents[out[-1]] >= 0:
        out.append(parents[out[-1]])
    return out[::-1]


def depth(parents: list[int], node: int) -> int:
    return len(ancestors(parents, node)) - 1


def as_tree_args(tree: Tree) -> dict[str, list[int]]:
    return {"parents": list(tree.parents), "ranks": list(tree.ranks)}


# The tree most cases use (drawn in the package docstring), a chain and a fan.
SMALL_TREE = Tree.from_paths([(0,), (1,), (2,), (0, 0), (0, 1), (1, 0), (0, 0, 0)], "small")
CHAIN_3 = Tree.from_paths([(0,), (0, 0), (0, 0, 0)], "chain-3")
FAN_3 = Tree.from_paths([(0,), (1,), (2,)], "fan-3")
SP = list(SMALL_TREE.parents)
