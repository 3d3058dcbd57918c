"""Text twins: hand-drawn cases first, then snapshots of the real fixture traces."""

from __future__ import annotations

from pathlib import Path

import pytest
from snapshots.check import matches
from test_trace import hand_trace

import trviz
from trviz.acceptance_stats import acceptance_text
from trviz.describe import STAGES
from trviz.recycling import recycling_text
from trviz.text import run_text, show_token, stage_text, step_text, tree_text

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


@pytest.mark.parametrize("name", ["paper", "small"])
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
