"""The trace data contract: JSON round trip, bad files, atomic save, slicing, recording levels."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import pytest
from tiny_models import TinyTokenizer, make_tiny

import trviz
from trviz.errors import TraceError
from trviz.trace import SCHEMA_VERSION, RowWrite, StepRecord, Trace, load_trace

DATA = Path(__file__).parent / "data"


def hand_trace() -> Trace:
    """Two steps of a 4-node tree, drawn by hand:

    root 10 ─┬─ r0: 11 ─── r0: 12      step 0 accepts 11, 12; bonus 13
             └─ r1: 14                 step 1 accepts nothing; bonus 15
    """
    tree = dict(parents=(-1, 0, 0, 1), ranks=(0, 0, 1, 0), depths=(0, 1, 1, 2))
    s0 = StepRecord(
        step=0,
        root=10,
        cache_len=5,
        accepted=(1, 3),
        bonus=13,
        committed=(11, 12, 13),
        timings={"draft": 0.001, "forward": 0.02},
        tokens=(10, 11, 14, 12),
        argmax=(11, 12, 9, 13),
        rows_read={10: (11, 14), 11: (12, -1)},
        rows_written=(RowWrite(10, 0, (11, 14), (11, 9)), RowWrite(12, 3, (-1, -1), (13, 7))),
        **tree,
    )
    s1 = StepRecord(
        step=1, root=13, cache_len=8, accepted=(), bonus=15, committed=(15,),
        timings={"draft": 0.001, "forward": 0.02}, tokens=(13, 7, -1, -1), argmax=(15, 2, 0, 0),
        rows_read={13: (7, -1), 7: (-1, -1)},
        rows_written=(RowWrite(13, 0, (7, -1), (15, 2)),),
        **tree,
    )  # fmt: skip
    strings = {7: "x", 9: "\n", 10: " the", 11: " cat", 12: " sat", 13: " on", 14: " dog", 15: "."}
    return Trace({"method": "tr", "model": "hand", "token_strings": strings}, [s0, s1])


def test_round_trip_is_exact(tmp_path):
    trace = hand_trace()
    back = load_trace(trace.save(tmp_path / "t.json"))
    assert back.steps == trace.steps
    assert back.meta == trace.meta
    assert back.token_str(9) == "\n"  # int keys survive JSON's string keys


def test_saved_file_names_schema_and_version(tmp_path):
    data = json.loads(hand_trace().save(tmp_path / "t.json").read_text())
    assert data["schema"] == "trviz.trace" and data["version"] == SCHEMA_VERSION


@pytest.mark.parametrize(
    "content, message",
    [
        ('{"schema": "trviz.trace", "version": 999, "meta": {}, "steps": []}', "version 999"),
        ('{"schema": "something.else", "version": 1}', "not a trviz trace"),
        ('{"schema": "trviz.trace", "version": 1, "meta": {}, "ste', "not valid JSON"),
        ('{"schema": "trviz.trace", "version": 1, "meta": {}, "steps": [{"step": 0}]}',
         "malformed"),
        ('{"schema": "trviz.trace", "version": 1, "meta": [], "steps": []}', "malformed"),
        ("[1, 2, 3]", "not a trviz trace"),
    ],
)  # fmt: skip
def test_bad_files_raise_clear_errors(tmp_path, content, message):
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(TraceError, match=message) as err:
        load_trace(path)
    assert str(path) in str(err.value)


def test_binary_garbage_is_a_trace_error(tmp_path):
    path = tmp_path / "bad.json"
    path.write_bytes(b"\xff\xfe\x00garbage")
    with pytest.raises(TraceError, match="not valid JSON"):
        load_trace(path)


def test_interrupted_save_leaves_old_file_and_no_temp(tmp_path, monkeypatch):
    path = hand_trace().save(tmp_path / "t.json")
    before = path.read_bytes()

    def explode(fd):  # the new file is written but not yet in place...
        raise KeyboardInterrupt  # ...when the user presses Ctrl-C

    monkeypatch.setattr("trviz.plumbing.os.fsync", explode)
    with pytest.raises(KeyboardInterrupt):
        hand_trace()[:1].save(path)
    assert path.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["t.json"]


def test_slicing_keeps_step_numbers_and_meta():
    trace = hand_trace()
    tail = trace[1:]
    assert isinstance(tail, Trace) and len(tail) == 1
    assert tail.by_step(1).bonus == 15
    assert tail.meta == trace.meta
    with pytest.raises(IndexError, match="step 0 is not in this trace"):
        tail.by_step(0)


def test_summary_numbers_and_repr():
    trace = hand_trace()
    assert trace.new_tokens == 4
    assert trace.mat == 2.0  # 4 tokens / 2 forwards
    assert trace.tokens_per_forward == pytest.approx(4 / 3)  # + the prefill forward
    assert trace.level == "full"
    assert repr(trace) == (
        "Trace(tr, 2 steps, 4 tokens, MAT 2.00, tokens/forward 1.33, level 'full')"
    )


def test_row_history_lists_reads_and_writes_in_order():
    events = hand_trace().row_history(13)
    assert [(e.step, e.kind) for e in events] == [(1, "read"), (1, "write")]
    assert events[1].row == (7, -1) and events[1].new == (15, 2)
    assert hand_trace().row_history(12)[0].kind == "write"


def test_fixture_traces_load_and_are_full():
    for name in ("trace-paper.json", "trace-small.json"):
        trace = load_trace(DATA / name)
        assert trace.level == "full"
        assert trace.meta["token_strings"]
        assert sum(len(s.committed) for s in trace) == len(trace.meta["new_tokens"])


@pytest.mark.parametrize("arch", ["llama", "gpt2"])
def test_recording_levels_never_change_tokens(arch):
    model, tok = make_tiny(arch), TinyTokenizer()
    prompt = "t5 t6 t7 t8 t5 t6 t7"
    runs = {lvl: trviz.generate(model, tok, prompt, 24, {"tree": "tr-8"}, record=lvl)
            for lvl in ("none", "summary", "full")}  # fmt: skip
    assert runs["none"].tokens == runs["summary"].tokens == runs["full"].tokens
    assert runs["none"].trace is None
    assert runs["summary"].trace.level == "summary"
    assert runs["full"].trace.level == "full"
    summary, full = runs["summary"].trace, runs["full"].trace
    assert [s.committed for s in summary] == [s.committed for s in full]


@pytest.mark.slow
def test_recording_levels_never_change_tokens_smollm(smollm):
    model, tok = smollm
    prompt = "Name three colours."
    tokens = {lvl: trviz.generate(model, tok, prompt, 24, record=lvl).tokens
              for lvl in ("none", "summary", "full")}  # fmt: skip
    assert tokens["none"] == tokens["summary"] == tokens["full"]


def test_trace_meta_is_typed_and_keeps_what_it_does_not_know():
    trace = trviz.load_trace(DATA / "trace-small.json")
    info = trace.info
    assert isinstance(info, trviz.TraceMeta)
    assert info.method == "tr" and info.model == trace.meta["model"]
    assert info.new_tokens == tuple(trace.meta["new_tokens"]) and info.token_strings
    assert info.token_strings == trace.meta["token_strings"]
    bench_meta = dict(trace.meta, turn=3, category="coding")
    again = trviz.TraceMeta.from_dict(bench_meta)
    assert again.extra == {"turn": 3, "category": "coding"}
    # the dict a file holds, round-tripped; fields an older trace lacks come back at their default
    assert again.to_dict() == trviz.TraceMeta().to_dict() | bench_meta


def test_a_run_records_every_trace_meta_field():
    model, tok = make_tiny("llama"), TinyTokenizer()
    r = trviz.generate(model, tok, [5, 6, 7], 6, record="summary")
    known = {f.name for f in dataclasses.fields(trviz.TraceMeta)} - {"extra"}
    assert known <= set(r.trace.meta), known - set(r.trace.meta)
    assert r.trace.info.finish_reason in ("eos", "length") and r.trace.info.extra == {}
