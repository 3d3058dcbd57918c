"""Text twins: hand-drawn cases first, then snapshots of the real fixture traces."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from snapshots.check import matches
from test_describe import budget_trace
from test_trace import hand_trace

import trviz
from trviz.acceptance_stats import acceptance_text
from trviz.describe import STAGES, describe_step
from trviz.recycling import recycling_text
from trviz.text import budget_words, run_text, show_token, stage_text, step_text, tree_text
from trviz.trace import Budget

DATA = Path(__file__).parent / "data"


def test_whitespace_is_visible():
    assert show_token(" the") == "␣the"
    assert show_token("\n\n") == "↵↵"
    assert show_token("\tx") == "⇥x"
    assert show_token("") == "∅"
    assert show_token(" extraordinary", 6) == "␣extr…"


def test_tree_text_marks_accepted_path_mismatch_picks_and_bonus():
    #   root ' the' ─┬─ r0 ' cat' ─── r0 ' sat'   (accepted: cat, sat; bonus ' on')
    #                └─ r1 ' dog'                 (the model wanted ' cat' there: ✗)
    assert tree_text(hand_trace(), 0) == "\n".join([
        "'␣the'  (root, step 0)  → '␣cat'",
        "├── ✓ r0 '␣cat'  → '␣sat'",
        "│   └── ✓ r0 '␣sat'  → '␣on'",
        "│       └── + '␣on'  (bonus: model argmax)",
        "└── ✗ r1 '␣dog'  → '↵'",
    ])  # fmt: skip


def test_tree_text_shows_empty_slots_and_bonus_at_root():
    assert tree_text(hand_trace(), 1) == "\n".join([
        "'␣on'  (root, step 1)  → '.'",
        "├── ✗ r0 'x'  → '<2>'",
        "│   └──   r0 ∅",
        "├──   r1 ∅",
        "└── + '.'  (bonus: model argmax)",
    ])  # fmt: skip


def test_tree_text_prune_collapses_rejected_subtrees():
    assert tree_text(hand_trace(), 1, prune=True) == "\n".join([
        "'␣on'  (root, step 1)  → '.'",
        "├── ✗ r0 'x'  → '<2>'  (+1)",
        "├──   r1 ∅",
        "└── + '.'  (bonus: model argmax)",
    ])  # fmt: skip


def test_step_text_hand_case():
    text = step_text(hand_trace(), 0, timings=False)
    assert text.splitlines() == [
        "step 0  root '␣the'  cache 5 tokens",
        "draft 3 nodes: 3 from 2 matrix rows, depth 2",
        "accepted 2 drafted: '␣cat␣sat'  bonus '␣on'",
        "committed 3: '␣cat␣sat␣on'",
        "rows rewritten 2, changed 2",
        "  row '␣the' by node 0 (path): [␣cat ␣dog] -> [␣cat ↵]",
        "  row '␣sat' by node 3 (path): [∅ ∅] -> [␣on x]",
    ]
    assert "forward 20.00 ms" in step_text(hand_trace(), 0)


def test_summary_level_steps_have_text_but_no_tree():
    trace = hand_trace()
    bare = trviz.Trace(trace.meta, [trviz.StepRecord(0, 10, 5, (1,), 13, (11, 13), {})])
    assert "committed 2: '␣cat␣on'" in step_text(bare, 0)
    with pytest.raises(trviz.TraceError, match="record='full'"):
        tree_text(bare, 0)


def test_budget_decision_in_one_line_in_caption_and_step_text():
    #   root ' A' ─┬─ r0 ' B'                       3 of 6 candidates verified; the model
    #              ├─ c ' C' ─── c ' D' ┄┄ c ' E'   wanted ' E' after ' D', which was pruned
    #              ┄┄ 'y'
    line = (
        "budget: verified 3 of 6 candidates (predicted 2.6 tokens for 1.3× a one-token step's "
        "time); copied 2 tokens after a 4-token match"
    )
    trace = budget_trace()
    assert stage_text(trace, 4, "draft") == (
        "step 4 · draft · 3 nodes: 1 from 1 matrix row, 2 copied from the context; " + line
    )
    assert step_text(trace, 4, timings=False).splitlines()[2] == line
    assert stage_text(trace, 4, "verify").endswith("it wants '␣E', which the budget pruned ✗")
    assert stage_text(trace, 4, "accept").endswith("from 1 forward (the budget predicted 2.6)")
    assert tree_text(trace, 4) == "\n".join([
        "'␣A'  (root, step 4)  → '␣C'",
        "├── ✗ r0 '␣B'  → 'x'",
        "├── ✓ c '␣C'  → '␣D'",
        "│   └── ✓ c '␣D'  → '␣E'",
        "│       ├── · pruned 1: c '␣E' (+1)",
        "│       └── + '␣E'  (bonus: model argmax)",
        "└── · pruned 1: 'y'",
    ])  # fmt: skip


@pytest.mark.parametrize(
    "budget, words",
    [
        (Budget(0, 0, 1.0, 1.0, 0), "budget: no candidates to verify: a plain one-token step"),
        (Budget(0, 9, 1.04, 1.0, 0), "budget: verified 0 of 9 candidates (predicted 1.0 tokens "
         "for 1.0× a one-token step's time); no earlier match to copy from"),
        (Budget(1, 1, 1.5, 1.1, 3), "budget: verified 1 of 1 candidate (predicted 1.5 tokens "
         "for 1.1× a one-token step's time); no copy verified after a 3-token match"),
    ],
)  # fmt: skip
def test_budget_words_without_copies(budget, words):
    trace = budget_trace(budget)
    trace.steps[0] = replace(trace.steps[0], lookup_nodes=())  # nothing copied was verified
    assert budget_words(describe_step(trace, 4).budget) == words


def test_summary_level_step_text_says_the_budget():
    bare = trviz.Trace({}, [trviz.StepRecord(0, 10, 5, (), 13, (13,), {},
                                             budget=Budget(2, 9, 1.6, 1.1, 5))])  # fmt: skip
    assert step_text(bare, 0, timings=False).splitlines()[1] == (
        "budget: verified 2 of 9 candidates (predicted 1.6 tokens for 1.1× a one-token step's "
        "time); a 5-token match to copy from"
    )


@pytest.mark.parametrize("name", ["paper", "small", "budget"])
def test_text_twins_snapshots(name):
    trace = trviz.load_trace(DATA / f"trace-{name}.json")
    step = trace.steps[len(trace) // 2].step
    text = "\n\n".join([
        run_text(trace, timings=False),
        step_text(trace, step, timings=False),
        "\n".join(stage_text(trace, step, stage) for stage in (*STAGES, None)),
        tree_text(trace, step, prune=True),
        tree_text(trace, step),
        recycling_text(trace),
        acceptance_text(trace),
    ]) + "\n"  # fmt: skip
    matches(f"text-{name}.txt", text)
