"""One step derived once: hand-drawn steps, including the cases the old views got wrong."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from test_trace import hand_trace

import trviz
from trviz.describe import describe_budget, describe_step, require_full
from trviz.text import stage_text, step_text, tree_text
from trviz.trace import Budget, RowWrite, StepRecord, Trace

DATA = Path(__file__).parent / "data"
STRINGS = {0: "<|endoftext|>", 5: " A", 6: " B", 7: " C", 8: " D", 9: " E", 20: "x", 21: "y"}


def lookup_trace() -> Trace:
    """A default-config step with a prompt-lookup chain (k=2):

    root 5 ─┬─ r0: 6  (matrix, row 5)          lookup chain: nodes 2, 3 copied 7, 8 from the
            └─ r1: 7 (copied) ─── r0: 8 (copied)    context; row 7 was never read to draft 8
    accepted: 2, 3 (both copied); bonus 9
    """
    rec = StepRecord(
        step=4, root=5, cache_len=30, accepted=(2, 3), bonus=9, committed=(7, 8, 9), timings={},
        tokens=(5, 6, 7, 8), parents=(-1, 0, 0, 2), ranks=(0, 0, 1, 0), depths=(0, 1, 1, 2),
        argmax=(7, 20, 8, 9), rows_read={5: (6, 21), 7: (20, 21)},
        rows_written=(RowWrite(5, 0, (6, 21), (7, 6)), RowWrite(8, 3, (-1, -1), (9, 20))),
        lookup_nodes=(2, 3),
    )  # fmt: skip
    meta = {"config": {"k": 2, "dedupe": True, "lookup": 2}, "token_strings": STRINGS}
    return Trace(meta, [rec])


def budget_trace(budget: Budget | None = None) -> Trace:
    """:func:`lookup_trace`'s step as a per-step budget chose it: 3 of 6 candidates verified.

    root 5 ─┬─ r0: 6                         verified: nodes 0..3 (size 4)
            ├─ c: 7 ─── c: 8 ┄┄ c: 9 ┄┄ c: 20   pruned 5 (copied, P 0.3) and 6 under it
            ┄┄ 21                            pruned 4 (matrix, P 0.05)
    the model wanted 9 after node 3: the budget pruned it (the bonus)
    """
    budget = budget or Budget(
        kept=3, candidates=6, gain=2.6, cost=1.3, match_len=4, p=(1.0, 0.3, 0.9, 0.8),
        pruned_parents=(0, 3, 5), pruned_tokens=(21, 9, 20), pruned_p=(0.05, 0.3, 0.2),
        pruned_copied=(5, 6),
    )  # fmt: skip
    trace = lookup_trace()
    return Trace(trace.meta, [replace(trace.steps[0], budget=budget)])


def paper_trace(committed: tuple[int, ...] = (6, 9)) -> Trace:
    """A paper-config step (zero fill) whose row 6 was never written (k=2):

    root 5 ─── r0: 6 ─┬─ r0: 0  placeholders: row 6 holds only zeros, so both
                      └─ r1: 0  children draft token 0
    accepted: 1; bonus 9 (dropped when ``committed`` stops before it)
    """
    rec = StepRecord(
        step=0, root=5, cache_len=10, accepted=(1,), bonus=9, committed=committed, timings={},
        tokens=(5, 6, 0, 0), parents=(-1, 0, 1, 1), ranks=(0, 0, 0, 1), depths=(0, 1, 2, 2),
        argmax=(6, 9, 7, 7), rows_read={5: (6, 7), 6: (0, 0)},
        rows_written=(RowWrite(5, 0, (6, 7), (6, 8)), RowWrite(6, 1, (0, 0), (9, 7)),
                      RowWrite(0, 2, (0, 0), (7, 5))),
    )  # fmt: skip
    meta = {"config": {"k": 2, "dedupe": False}, "token_strings": STRINGS,
            "finish_reason": "length"}  # fmt: skip
    return Trace(meta, [rec])


def test_hand_step_origins_matches_and_rows():
    story = describe_step(hand_trace(), 0)
    assert [n.origin for n in story.nodes] == ["root", "drafted", "drafted", "drafted"]
    assert [n.match for n in story.nodes] == [None, True, False, True]
    assert story.path == (0, 1, 3) and story.best == 3 and story.bonus_kept
    # rows: the path's rows first (root ' the', then ' cat'), then the changed ' sat'
    assert [r.token for r in story.rows] == [10, 11, 12]
    the = story.rows[0]
    assert the.readers == (0,) and the.filled == (1, 2) and the.writer == 0
    assert the.changed == (1,)  # ' dog' -> '\n'
    assert story.rows[2].readers == () and story.rows[2].writer == 3


def test_copied_nodes_are_not_matrix_drafts():
    story = describe_step(lookup_trace(), 4)
    assert [n.origin for n in story.nodes] == ["root", "drafted", "copied", "copied"]
    # row 7 is recorded (node 2 is internal) but the lookup never read it: not a row that matters
    assert [r.token for r in story.rows] == [5, 8]
    assert story.rows[0].filled == (1,)
    text = tree_text(lookup_trace(), 4)
    assert "✓ c '␣C'" in text and "✓ c '␣D'" in text  # copied, never "r1"
    assert "r1 '␣C'" not in text
    assert step_text(lookup_trace(), 4, timings=False).splitlines()[1] == (
        "draft 3 nodes: 1 from 1 matrix row, 2 copied from the context, depth 2"
    )


def test_placeholders_from_a_never_written_row():
    story = describe_step(paper_trace(), 0)
    assert [n.origin for n in story.nodes] == ["root", "drafted", "placeholder", "placeholder"]
    row6 = next(r for r in story.rows if r.token == 6)
    assert row6.never_written and row6.filled == (2, 3)
    assert "2 placeholders" in stage_text(paper_trace(), 0, "draft")


def test_bonus_dropped_at_the_token_cap_is_said_so():
    trace = paper_trace(committed=(6,))  # max_new_tokens reached after the accepted draft
    story = describe_step(trace, 0)
    assert not story.bonus_kept and story.stop == "length" and story.kept == 1
    caption = stage_text(trace, 0, "accept")
    assert "bonus '␣E' dropped: max_new_tokens reached" in caption and "+ bonus" not in caption
    assert "- '␣E'  (bonus dropped: max_new_tokens reached)" in tree_text(trace, 0)
    assert "bonus '␣E' dropped" in step_text(trace, 0)


def test_drafts_cut_by_the_token_cap_are_said_so():
    from test_recycling import recycling_trace

    trace = recycling_trace(last=(30,))  # step 2 accepted two drafts; the cap kept one
    assert describe_step(trace, 2).kept == 1
    assert stage_text(trace, 2, "accept") == (
        "step 2 · accept · 2 drafts accepted '<30><77>'; max_new_tokens reached after 1 of them, "
        "bonus '<5>' dropped → 1 token from 1 forward"
    )


def test_captions_name_every_stage():
    trace = hand_trace()
    assert stage_text(trace, 0, "draft") == "step 0 · draft · 3 nodes: 3 from 2 matrix rows"
    assert stage_text(trace, 0, "verify") == (
        "step 0 · verify · 1 forward over 4 tokens: '␣cat' ✓ '␣sat' ✓ match its argmax; "
        "after '␣sat' it wants '␣on', nothing was drafted there"
    )
    assert stage_text(trace, 0, "accept") == (
        "step 0 · accept · 2 drafts accepted '␣cat␣sat' + bonus '␣on' → 3 tokens from 1 forward"
    )
    assert stage_text(trace, 0, "update").endswith("2 rows changed, 0 by rejected nodes")
    with pytest.raises(ValueError, match="stage must be one of"):
        stage_text(trace, 0, "compact")


def test_one_guard_message_for_summary_traces():
    trace = hand_trace()
    bare = trviz.Trace(trace.meta, [trviz.StepRecord(0, 10, 5, (), 13, (13,), {})])
    with pytest.raises(trviz.TraceError, match=r"needs a trace recorded with .*record='full'"):
        require_full(bare, "this view")
    for call in (lambda: tree_text(bare, 0), lambda: describe_step(bare, 0)):
        with pytest.raises(trviz.TraceError, match="record='full'"):
            call()


def test_budget_decision_with_its_pruned_candidates():
    b = describe_step(budget_trace(), 4).budget
    assert (b.kept, b.candidates, b.gain, b.cost, b.match_len, b.copied) == (3, 6, 2.6, 1.3, 4, 2)
    assert b.size == 4 and [q.index for q in b.pruned] == [4, 5, 6]
    assert [(q.token, q.parent, q.depth, q.copied) for q in b.pruned] == [
        (21, 0, 1, False), (9, 3, 3, True), (20, 5, 4, True),
    ]  # fmt: skip
    assert [q.index for q in b.heads(0)] == [4] and [q.index for q in b.heads(3)] == [5]
    assert b.heads(1) == () and b.get(5).children == (6,) and b.under(5) == 1
    assert b.p == (1.0, 0.3, 0.9, 0.8)
    # the verified tree is the same as without a budget: the budget only adds its decision
    assert describe_step(budget_trace(), 4).nodes == describe_step(lookup_trace(), 4).nodes


def test_no_budget_for_static_trees_and_old_traces():
    assert describe_step(lookup_trace(), 4).budget is None
    assert describe_step(paper_trace(), 0).budget is None
    for name in ("paper", "small"):
        trace = trviz.load_trace(DATA / f"trace-{name}.json")
        assert all(describe_step(trace, s.step).budget is None for s in trace)


def test_summary_level_budget_has_no_pruned_candidates():
    rec = StepRecord(4, 5, 30, (), 9, (9,), {}, budget=Budget(0, 12, 1.0, 1.0, 0))
    b = describe_budget(rec)
    assert (b.kept, b.candidates, b.copied, b.pruned, b.p) == (0, 12, None, (), None)
    assert describe_budget(replace(rec, budget=None)) is None


def test_budget_fixture_is_the_default_preset_and_consistent():
    trace = trviz.load_trace(DATA / "trace-budget.json")
    assert trace.meta["config"]["budget"] and trace.meta["config"]["name"] == "default"
    for rec in trace:
        b = describe_step(trace, rec.step).budget
        assert b.kept == len(rec.tokens) - 1 and b.candidates == b.kept + len(b.pruned)
        assert all(q.parent < q.index for q in b.pruned)  # parents are numbered first
        assert b.copied == len(rec.lookup_nodes or ())
    assert any(describe_step(trace, s.step).budget.copied for s in trace)  # copies verified
