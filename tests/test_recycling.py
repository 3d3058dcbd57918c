"""Trash into treasure, measured on traces whose answer is known by hand."""

from __future__ import annotations

import pytest
from test_describe import lookup_trace

import trviz
from trviz.acceptance_stats import acceptance_text, node_acceptance
from trviz.recycling import SOURCES, recycling_stats, recycling_text, row_story_text, row_versions
from trviz.trace import RowWrite, StepRecord, Trace

CHAIN = dict(parents=(-1, 0, 1), ranks=(0, 0, 0), depths=(0, 1, 2))  # root ─ n1 ─ n2 (k=2)


def recycling_trace(seed: bool = False, last: tuple[int, ...] = (30, 77)) -> Trace:
    """Three steps on the chain template root ─ n1 ─ n2 (every draft from column 0):

    step 0: root 10, row 10 = [11 ..] (hot start) -> n1 11 ✓; row 11 = [13 ..] -> n2 13 ✗
            (the model wanted 99). Update: the rejected n2 writes row 13 = [30 31].
    step 1: root 99, row 99 = [13 ..] (hot start) -> n1 13 ✓; row 13 = [30 ..], written by
            the rejected n2 of step 0 -> n2 30 ✓: trash turned treasure. The path n2 writes
            row 30 = [77 78].
    step 2: root 77, row 77 = [30 ..] (hot start) -> n1 30 ✓; row 30 = [77 ..], written by the
            accepted n2 of step 1 -> n2 77 ✓; max_new_tokens cuts the bonus (``last``: the
            tokens step 2 commits).

    Accepted drafts: hot start 3 (step 0 n1, step 1 n1, step 2 n1), rejected 1, path 1.
    """
    s0 = StepRecord(
        0, 10, 5, (1,), 99, (11, 99), {}, tokens=(10, 11, 13), argmax=(11, 99, 5),
        rows_read={10: (11, 12), 11: (13, 14)},
        rows_written=(RowWrite(10, 0, (11, 12), (11, 20)), RowWrite(11, 1, (13, 14), (99, 21)),
                      RowWrite(13, 2, (40, 41), (30, 31))),
        **CHAIN,
    )  # fmt: skip
    s1 = StepRecord(
        1, 99, 7, (1, 2), 77, (13, 30, 77), {}, tokens=(99, 13, 30), argmax=(13, 30, 77),
        rows_read={99: (13, 40), 13: (30, 31)},
        rows_written=(RowWrite(99, 0, (13, 40), (13, 41)), RowWrite(13, 1, (30, 31), (30, 50)),
                      RowWrite(30, 2, (-1, -1), (77, 78))),
        **CHAIN,
    )  # fmt: skip
    s2 = StepRecord(
        2, 77, 10, (1, 2), 5, last, {}, tokens=(77, 30, 77),
        argmax=(30, 77, 5), rows_read={77: (30, 60), 30: (77, 78)},
        rows_written=(RowWrite(77, 0, (30, 60), (30, 61)), RowWrite(30, 1, (77, 78), (77, 62))),
        **CHAIN,
    )  # fmt: skip
    config = {"k": 2, "dedupe": True, "seed_from_prompt": seed}
    meta = {"config": config, "prompt_ids": [3, 11, 10], "finish_reason": "length"}
    return Trace(meta, [s0, s1, s2])


def test_shares_sum_to_one_with_the_hand_counted_answer():
    stats = recycling_stats(recycling_trace())
    assert set(stats) == {"counts", "shares"} and tuple(stats["counts"]) == SOURCES
    assert stats["counts"] == {"path": 1, "rejected": 1, "seed": 0, "hot_start": 3,
                               "placeholder": 0, "lookup": 0}  # fmt: skip
    assert stats["shares"]["rejected"] == pytest.approx(0.2)
    assert sum(stats["shares"].values()) == pytest.approx(1.0)


def test_the_prefill_seed_is_a_source():
    # seed_from_prompt writes rows 3 and 11 (the prompt minus its last token) before step 0:
    # step 0's n2 came from row 11, but it was rejected; nothing accepted changes source...
    assert recycling_stats(recycling_trace(seed=True))["counts"]["seed"] == 0
    # ...unless the accepted n1 of step 0 reads a seeded row: seed row 10 too
    trace = recycling_trace(seed=True)
    trace.meta["prompt_ids"] = [10, 3]
    counts = recycling_stats(trace)["counts"]
    assert counts["seed"] == 1 and counts["hot_start"] == 2


def test_history_turns_hot_start_into_known_writers():
    trace = recycling_trace()
    alone = recycling_stats(trace[1:])["counts"]  # step 0's writes happened "before the trace"
    assert alone["rejected"] == 0 and alone["hot_start"] == 3
    told = recycling_stats(trace[1:], history=[trace[:1]])["counts"]
    assert told["rejected"] == 1 and told["path"] == 1 and told["hot_start"] == 2


def test_lookup_and_placeholder_sources():
    assert recycling_stats(lookup_trace())["counts"]["lookup"] == 2
    # a paper-config draft of token 0 from a never-written (zero) row that the model accepted
    rec = StepRecord(0, 5, 3, (1,), 9, (0, 9), {}, tokens=(5, 0, 7), argmax=(0, 9, 9),
                     rows_read={5: (0, 0), 0: (7, 8)}, rows_written=(), **CHAIN)  # fmt: skip
    counts = recycling_stats(Trace({"config": {"k": 2, "dedupe": False}}, [rec]))["counts"]
    assert counts["placeholder"] == 1 and sum(counts.values()) == 1


def test_cut_drafts_do_not_count_and_nothing_accepted_gives_zero_shares():
    assert sum(recycling_stats(recycling_trace(last=(30, 77, 5)))["counts"].values()) == 5
    cut = recycling_stats(recycling_trace(last=(30,)))["counts"]  # the cap cut step 2's n2 too
    assert sum(cut.values()) == 4 and cut["path"] == 0
    rec = StepRecord(0, 5, 3, (), 9, (9,), {}, tokens=(5, 6, 7), argmax=(9, 9, 9),
                     rows_read={5: (6, 1), 6: (7, 1)}, rows_written=(), **CHAIN)  # fmt: skip
    stats = recycling_stats(Trace({"config": {"k": 2}}, [rec]))
    assert sum(stats["counts"].values()) == 0 and set(stats["shares"].values()) == {0.0}


def test_row_story_follows_one_row():
    versions = row_versions(recycling_trace(), 13)
    assert [(v.origin.kind, v.origin.step, v.row) for v in versions] == [
        ("hot_start", None, (40, 41)), ("rejected", 0, (30, 31)), ("path", 1, (30, 50)),
    ]  # fmt: skip
    (use,) = versions[1].uses  # the rejected write drafted step 1's n2, accepted
    assert (use.step, use.node, use.accepted) == (1, 2, True)
    text = row_story_text(recycling_trace(), 13)
    assert "step 0 · node 2 (rejected): [<30> <31>]" in text and "✓ step 1 node 2 r0" in text
    assert "rejected" in recycling_text(recycling_trace())


def test_per_node_acceptance_by_depth_and_rank():
    cells = node_acceptance(recycling_trace())
    assert (cells[(1, 0)].drafted, cells[(1, 0)].accepted) == (3, 3)
    assert (cells[(2, 0)].drafted, cells[(2, 0)].accepted, cells[(2, 0)].reached) == (3, 2, 3)
    lookup = node_acceptance(lookup_trace())
    assert lookup[(1, "copied")].accepted == 1 and lookup[(1, 0)].rate == 0.0
    text = acceptance_text(recycling_trace()).splitlines()
    assert text[2].split("|")[1].strip() == "100%   3/3"
    assert text[3].split("|")[1].strip() == "67%   2/3"


def test_summary_traces_are_refused_with_the_one_message():
    bare = Trace({}, [StepRecord(0, 1, 2, (), 3, (3,), {})])
    with pytest.raises(trviz.TraceError, match="recycling statistics needs a trace recorded"):
        recycling_stats(bare)
