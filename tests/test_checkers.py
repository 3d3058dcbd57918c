"""Exercise checkers: every exercise in the table accepts trviz's reference and the independent
solution, and recognises each of its common mistakes (written as code) by name, with its hint."""

from __future__ import annotations

import math
import random

import pytest
from tiny_models import make_tiny

import tr_notebooks
from tr_notebooks import checkers as c
from tr_notebooks.checkers.core import Mistake
from tr_notebooks.stats import chi_square, upper_gamma_q

NAMES = list(c.EXERCISES)
MISTAKES = [(name, m) for name, ex in c.EXERCISES.items() for m in ex.mistakes]


@pytest.fixture(scope="module")
def context():
    """What some checkers need besides the student's function: a model (tiny, random-init)."""
    return {"tree_logits": {"model": make_tiny("llama")}}


def _check(name, fn, context):
    return c.check(name, fn, **context.get(name, {}))


@pytest.mark.parametrize("name", NAMES)
def test_checker_accepts_the_reference(name, context):
    verdict = _check(name, c.REFERENCES[name], context)
    assert verdict.ok, verdict.message
    assert verdict.passed == verdict.total == len(c.EXERCISES[name].cases)


@pytest.mark.parametrize("name", NAMES)
def test_checker_accepts_the_independent_solution(name, context):
    verdict = _check(name, c.SOLUTIONS[name], context)
    assert verdict.ok, verdict.message
    assert verdict.message.startswith(f"[pass] {name}: all ")


@pytest.mark.parametrize(("name", "mistake"), MISTAKES, ids=[f"{n}:{m.name}" for n, m in MISTAKES])
def test_checker_diagnoses_each_common_mistake(name, mistake: Mistake, context):
    verdict = _check(name, mistake.answer, context)
    assert not verdict.ok and not bool(verdict)
    assert verdict.passed < verdict.total
    assert verdict.mistake == mistake.name, verdict.message
    assert f"diagnosis: {mistake.name}" in verdict.message
    assert f"hint: {mistake.hint}" in verdict.message


def test_every_exercise_diagnoses_at_least_two_mistakes_except_the_model_free_formulae():
    for name, ex in c.EXERCISES.items():
        assert len(ex.mistakes) >= 2, name
        assert ex.hint and ex.task and ex.cases, name


def test_issue_12_mistakes_are_diagnosed():
    """Bonus forgotten, depth off by one, a right token under a wrong parent, update only on the
    accepted path: each has its own named diagnosis."""
    names = {m.name for ex in c.EXERCISES.values() for m in ex.mistakes}
    assert "the bonus token is missing" in names
    assert "one position too far (depth off by one)" in names
    assert "a right token under a wrong parent was accepted" in names
    assert "only the accepted path was written" in names


def test_the_papers_update_and_trviz_tie_break_are_separate_exercises():
    recycle, tie = c.EXERCISES["recycle"], c.EXERCISES["tie_break"]
    for case in recycle.cases:  # the paper's update: no token repeats, so no tie to break
        real = [t for t in case.args["tokens"] if t >= 0]
        assert len(real) == len(set(real)), case.name
    repeats = [cs for cs in tie.cases if len(set(cs.args["tokens"])) < len(cs.args["tokens"])]
    assert len(repeats) >= 3


def test_an_unrecognised_wrong_answer_gets_the_general_hint():
    verdict = tr_notebooks.check_positions(lambda parents, prefix_len: [7] * len(parents))
    assert not verdict.ok and verdict.mistake is None
    assert "diagnosis:" not in verdict.message
    assert f"hint: {c.EXERCISES['positions'].hint}" in verdict.message


def test_a_stub_that_raises_is_reported_not_raised():
    def stub(rows, root, parents, ranks):
        raise NotImplementedError("write your draft here")

    verdict = tr_notebooks.check_draft(stub)
    assert not verdict.ok and verdict.passed == 0
    assert "your function raised NotImplementedError: write your draft here" in verdict.message


def test_wrong_return_type_is_named():
    verdict = tr_notebooks.check_positions(lambda parents, prefix_len: None)
    assert not verdict.ok
    assert "should return a list of position ids, yours returned NoneType None" in verdict.message


def test_a_function_that_mutates_its_inputs_cannot_spoil_later_cases():
    def clobber(tokens, topk, committed):
        out = c.SOLUTIONS["recycle"](tokens, topk, committed)
        tokens.clear()
        return out

    assert tr_notebooks.check_recycle(clobber).ok
    assert c.EXERCISES["recycle"].cases[0].args["tokens"] == [3, 7, 9]


def test_tensor_answers_are_accepted():
    import torch

    solution = c.SOLUTIONS["positions"]
    verdict = tr_notebooks.check_positions(lambda p, n: torch.tensor(solution(p, n)))
    assert verdict.ok, verdict.message


def test_checkers_are_exported_with_their_task_as_doc():
    for name, ex in c.EXERCISES.items():
        fn = getattr(tr_notebooks, f"check_{name}")
        assert fn.__name__ == f"check_{name}" and ex.task in fn.__doc__
        assert f"check_{name}" in tr_notebooks.__all__ and f"check_{name}" in dir(tr_notebooks)
    with pytest.raises(AttributeError):
        tr_notebooks.check_nothing  # noqa: B018


def test_hand_drawn_expectations():
    """The references agree with answers worked out by hand from the package docstring's tree."""
    ex = c.EXERCISES
    assert c.REFERENCES["draft"](**ex["draft"].cases[2].args) == [10, 11, 12, 13, 14, 15, 17, 20]
    assert c.REFERENCES["longest_accepted"](**ex["longest_accepted"].cases[3].args) == 7
    assert c.REFERENCES["tie_break"](**ex["tie_break"].cases[2].args) == {9: 0, 2: 3}
    assert c.REFERENCES["chain_accept"](**ex["chain_accept"].cases[2].args) == [11, 30]
    assert c.REFERENCES["positions"](**ex["positions"].cases[2].args) == [
        12, 13, 13, 13, 14, 14, 14, 15,
    ]  # fmt: skip
    assert c.REFERENCES["compact"](**ex["compact"].cases[2].args) == [
        "p0", "p1", "p2", "r", "n2", "n6",
    ]  # fmt: skip
    assert c.REFERENCES["expected_mat"](**ex["expected_mat"].cases[2].args) == pytest.approx(
        1 + 0.5 + 0.25 + 0.125
    )
    assert c.REFERENCES["commit"](**ex["commit"].cases[3].args) == [[5, 2], "eos"]
    assert c.REFERENCES["pick_tree"](**ex["pick_tree"].cases[0].args) == "tr-8"
    assert c.REFERENCES["pick_tree"](**ex["pick_tree"].cases[1].args) == "2.2.2"


def test_tree_logits_reference_equals_one_by_one_decoding_on_a_tiny_model(context):
    model = context["tree_logits"]["model"]
    for case in c.EXERCISES["tree_logits"].cases:
        tree = c.REFERENCES["tree_logits"](model, **case.args)
        seq = c.SOLUTIONS["tree_logits"](model, **case.args)
        assert (tree - seq).abs().max() < 1e-5


def test_speculative_sampling_rule_is_checked_statistically():
    ex = c.EXERCISES["speculative_sample"]

    verdict = ex.check(lambda p, q, x, rng: x)  # the notebook's stub: accepts every draft
    assert "chi-square" in verdict.message and "do not follow the target p" in verdict.message
    assert verdict.mistake == "every draft was accepted: the output follows q, not p"


# ----- prediction questions -----------------------------------------------------------------


def test_compare_puts_a_prediction_next_to_a_measurement():
    v = tr_notebooks.compare("which tree?", {"a": 1.2, "b": 0.9}, {"a": 1.1, "b": 1.0}, "x")
    assert v.ok and v.message.startswith("[match] you predicted 'a'")
    assert "+9%" in v.message  # 1.2 predicted against 1.1 measured
    v = tr_notebooks.compare("which tree?", "b", {"a": 1.1, "b": 1.0})
    assert not v.ok and "ranks 'a' first" in v.message


# ----- the chi-square test itself ---------------------------------------------------------------


def test_chi_square_p_value_matches_tables():
    # textbook critical values: chi2(1) 3.841 -> 0.05, chi2(10) 23.209 -> 0.01, chi2(100) 149.449
    assert upper_gamma_q(0.5, 3.841 / 2) == pytest.approx(0.05, abs=2e-4)
    assert upper_gamma_q(5, 23.209 / 2) == pytest.approx(0.01, abs=2e-5)
    assert upper_gamma_q(50, 149.449 / 2) == pytest.approx(0.001, abs=2e-6)
    assert upper_gamma_q(50, 99.334 / 2) == pytest.approx(0.5, abs=1e-3)


def test_chi_square_pools_small_cells_and_rejects_impossible_draws():
    rng = random.Random(0)
    probs = {"a": 0.6, "b": 0.39, "c": 0.01}
    counts = {k: 0 for k in probs}
    for _ in range(300):
        counts[rng.choices(list(probs), weights=list(probs.values()))[0]] += 1
    stat, p, df = chi_square(counts, probs)
    assert df == 2 and p > 1e-3  # "c" (expected 3) pooled into its own bin of one cell
    assert chi_square({"a": 1, "z": 1}, probs)[1] == 0.0
    assert math.isinf(chi_square({"a": 1, "z": 1}, probs)[0])


def test_the_compaction_drawing_keeps_what_trviz_compact_keeps():
    from tr_notebooks.drawings import compaction_text

    labels = ["r", "a", "b", "c", "d"]  # root; a, b its children; c under a, d under b
    path, depths = [0, 2, 4], [0, 1, 1, 2, 2]
    text = compaction_text(labels, 3, path, depths)
    kept = c.REFERENCES["compact"](["p0", "p1", "p2", *labels], 3, path)[3:]
    assert kept == ["r", "b", "d"]
    assert "slots 3..5 hold r, b, d" in text
    rows = [line for line in text.splitlines() if line.strip().startswith(("4 ", "5 ", "6 "))]
    assert [r.split()[-1] for r in rows] == ["no", "4", "no"]  # slots 4, 5, 6: a, b, c
