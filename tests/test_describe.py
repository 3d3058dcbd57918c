"""One step derived once: hand-drawn steps, including the cases the old views got wrong."""

from __future__ import annotations

import pytest
from test_trace import hand_trace

import trviz
from trviz.describe import describe_step, require_full
from trviz.text import stage_text, step_text, tree_text
from trviz.trace import RowWrite, StepRecord, Trace

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
