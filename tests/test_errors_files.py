"""Matrix and trace files: a checksum and a checked schema on load (issue 14, files).

A damaged, edited, truncated or foreign file is refused with a typed error that names the file
and the reason; never an IndexError in the middle of ``generate`` or of a view. Files written
before checksums (the fixtures in tests/data) still load.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
import torch
from test_trace import hand_trace

from trviz.errors import MatrixError, TraceError
from trviz.matrix import load_matrix, new_matrix
from trviz.text import run_text
from trviz.trace import Trace, load_trace

DATA = Path(__file__).parent / "data"


# ----- matrix files -----------------------------------------------------------------------------


def saved_matrix(tmp_path: Path) -> Path:
    m = new_matrix(50, 4, fingerprint="f" * 64)
    m.table[7] = torch.tensor([1, 2, 3, -1], dtype=torch.int32)
    return m.save(tmp_path / "m.pt")


def rewrite(path: Path, **changes) -> Path:
    """Load a matrix file's payload, change it as a damaged or hand-made file would be, save it
    back without recomputing the checksum."""
    payload = torch.load(path, weights_only=True)
    for key, value in changes.items():
        if value is None:
            del payload[key]
        else:
            payload[key] = value
    torch.save(payload, path)
    return path


def test_a_matrix_file_carries_a_checksum_and_round_trips(tmp_path):
    path = saved_matrix(tmp_path)
    assert len(torch.load(path, weights_only=True)["sha256"]) == 64
    m = load_matrix(path)
    assert m.table[7].tolist() == [1, 2, 3, -1] and m.fingerprint == "f" * 64
    assert oct(path.stat().st_mode & 0o777) == "0o644"


def test_a_matrix_file_without_a_checksum_still_loads(tmp_path):
    path = rewrite(saved_matrix(tmp_path), sha256=None)  # as saved before checksums
    assert load_matrix(path).table[7].tolist() == [1, 2, 3, -1]


def test_corrupted_table_data_is_refused(tmp_path):
    path = saved_matrix(tmp_path)
    table = torch.load(path, weights_only=True)["table"]
    table[7, 1] = 5  # a flipped value, still a valid id: only the checksum can tell
    with pytest.raises(MatrixError, match="checksum does not match"):
        load_matrix(rewrite(path, table=table))


def test_changed_metadata_is_refused(tmp_path):
    path = rewrite(saved_matrix(tmp_path), steps_seen=99)
    with pytest.raises(MatrixError, match="checksum"):
        load_matrix(path)


def test_flipped_bytes_in_the_file_are_refused(tmp_path):
    path = saved_matrix(tmp_path)
    data = bytearray(path.read_bytes())
    table_at = data.index(bytes(torch.tensor([1, 2, 3, -1], dtype=torch.int32).numpy()))
    data[table_at] ^= 0x04  # 1 -> 5 inside the stored table
    path.write_bytes(bytes(data))
    with pytest.raises(MatrixError, match=str(path)):
        load_matrix(path)


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(table=torch.full((50, 4), 50, dtype=torch.int32)), r"outside -1\.\.49"),
        (dict(table=torch.full((50, 4), -2, dtype=torch.int32)), r"outside -1\.\.49"),
        (dict(table=torch.zeros(50, dtype=torch.int32)), "2-D"),
        (dict(table=torch.zeros(0, 4, dtype=torch.int32)), "2-D"),
        (dict(table=torch.zeros(50, 4)), "integer token ids"),
        (dict(table=[[1, 2]]), "must be a tensor"),
        (dict(table=None), "no 'table'"),
        (dict(meta=None, fingerprint=None), "no 'fingerprint', 'meta'"),
        (dict(steps_seen="zero"), "steps_seen"),
        (dict(steps_seen=-1), "steps_seen"),
        (dict(fingerprint=3), "fingerprint"),
        (dict(format="trviz.matrix/9"), "not a trviz matrix file"),
    ],
)
def test_a_damaged_matrix_file_says_why(tmp_path, changes, message):
    path = rewrite(saved_matrix(tmp_path), sha256=None, **changes)  # checks beyond the checksum
    with pytest.raises(MatrixError, match=message) as err:
        load_matrix(path)
    assert str(path) in str(err.value)


def test_not_a_matrix_file(tmp_path):
    (tmp_path / "bad.pt").write_bytes(b"not a matrix")
    with pytest.raises(MatrixError, match="not a readable"):
        load_matrix(tmp_path / "bad.pt")
    torch.save({"a": 1}, tmp_path / "other.pt")
    with pytest.raises(MatrixError, match="not a trviz matrix file"):
        load_matrix(tmp_path / "other.pt")
    path = saved_matrix(tmp_path)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])  # truncated
    with pytest.raises(MatrixError, match="not a readable"):
        load_matrix(path)


@pytest.mark.parametrize("load", [load_matrix, load_trace])
def test_devices_folders_and_huge_files_are_refused_unread(tmp_path, load):
    error = MatrixError if load is load_matrix else TraceError
    if os.path.exists("/dev/zero"):
        with pytest.raises(error, match="not a regular file"):
            load("/dev/zero")  # would never end (and exhaust memory) if read
    with pytest.raises(error, match="is a folder"):
        load(tmp_path)
    big = tmp_path / "big"
    with open(big, "wb") as f:
        f.truncate(5_000_000)  # sparse: costs no disk
    with pytest.raises(error, match="5 MB, more than the 1 MB .* pass max_bytes="):
        load(big, max_bytes=1_000_000)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing")


# ----- trace files ------------------------------------------------------------------------------


def test_a_saved_trace_carries_a_checksum_and_round_trips(tmp_path):
    trace = hand_trace()
    path = trace.save(tmp_path / "t.json")
    data = json.loads(path.read_text())
    assert len(data["sha256"]) == 64
    back = load_trace(path)
    assert back.steps == trace.steps and back.meta == trace.meta


def test_an_edited_trace_is_refused(tmp_path):
    path = hand_trace().save(tmp_path / "t.json")
    text = path.read_text()
    path.write_text(text.replace('"bonus":13', '"bonus":14'))  # still a valid trace
    with pytest.raises(TraceError, match="does not match its checksum"):
        load_trace(path)


def test_a_reformatted_trace_still_loads(tmp_path):
    path = hand_trace().save(tmp_path / "t.json")
    path.write_text(json.dumps(json.loads(path.read_text()), indent=2) + "\n")
    assert load_trace(path).steps == hand_trace().steps
    data = json.loads(path.read_text())
    data["meta"]["model"] = "other"
    path.write_text(json.dumps(data, indent=2))
    with pytest.raises(TraceError, match="checksum"):
        load_trace(path)


@pytest.mark.parametrize("name", ["trace-small.json", "trace-paper.json"])
def test_fixtures_saved_before_checksums_still_load(name):
    assert "sha256" not in json.loads((DATA / name).read_text())
    assert len(load_trace(DATA / name)) > 0


def test_a_truncated_trace_is_refused(tmp_path):
    path = hand_trace().save(tmp_path / "t.json")
    path.write_bytes(path.read_bytes()[:-40])
    with pytest.raises(TraceError, match="not valid JSON"):
        load_trace(path)


def test_an_empty_trace_is_valid(tmp_path):
    path = Trace({"method": "tr", "model": "m"}, []).save(tmp_path / "empty.json")
    trace = load_trace(path)
    assert len(trace) == 0 and trace.mat == 0.0 and trace.level == "summary"
    assert "0 steps" in repr(trace)
    assert "steps 0  new tokens 0" in run_text(trace)


def step_json(**changes):
    """Step 0 of the hand trace as JSON, with ``changes`` (None deletes a field)."""
    d = hand_trace().steps[0].to_json()
    d = json.loads(json.dumps(d))
    for key, value in changes.items():
        if value is None:
            del d[key]
        else:
            d[key] = value
    return d


def write_trace(tmp_path, steps, meta=None) -> Path:
    path = tmp_path / "t.json"
    body = {"schema": "trviz.trace", "version": 1, "meta": meta or {}, "steps": steps}
    path.write_text(json.dumps(body))
    return path


@pytest.mark.parametrize(
    "changes, message",
    [
        (dict(step="zero"), r"steps\[0\]: 'step' must be an int >= 0, got 'zero'"),
        (dict(step=-1), "'step' must be an int >= 0"),
        (dict(root=1.5), "'root' must be an int"),
        (dict(bonus=None), "missing field 'bonus'"),
        (dict(accepted="1,3"), "'accepted' must be a list of ints"),
        (dict(accepted=[0]), "'accepted' holds 0, below 1"),
        (dict(accepted=[3]), r"'accepted' \[3\] is not a path from the root"),
        (dict(accepted=[1, 2]), "not a path from the root"),
        (dict(accepted=[9]), "not a path from the root"),
        (dict(committed=[11, "x"]), "'committed' must be a list of ints"),
        (dict(timings=[1, 2]), "'timings' must map phases to seconds"),
        (dict(timings={"draft": "fast"}), "'timings' must map phases to seconds"),
        (dict(parents=[-1, 0, 0, 5]), "node 3: parent 5 .* is not a tree"),
        (dict(parents=[-1, 0, 0]), "one entry per node"),
        (dict(parents=[0, 0, 0, 1]), "node 0 must be the root"),
        (dict(depths=[0, 1, 1, 1]), "node 3: .* depth 1 is not a tree"),
        (dict(ranks=[0, 0, -1, 0]), "'ranks' holds -1"),
        (dict(tokens=[10, 11, 14, -5]), "'tokens' holds -5"),
        (dict(tokens=[]), "one entry per node"),
        (dict(argmax=None), "a full step needs all of"),
        (dict(rows_read=[[10, [11, "a"]]]), "'rows_read' must be a list of ints"),
        (dict(rows_read={"10": [11, 14]}), "'rows_read' must be a list of"),
        (dict(rows_written=[{"token": 10, "node": 9, "old": [1], "new": [2]}]), "node 9 outside"),
        (dict(rows_written=[{"token": 10}]), "'rows_written' must be a list of"),
        (dict(lookup_nodes=[7]), "'lookup_nodes' names a node outside"),
        (dict(drafted_by=3), "unknown field 'drafted_by'"),
        (dict(budget=3), "'budget' must be an object"),
        (dict(budget={"kept": 1}), "'budget': missing field 'candidates'"),
    ],
)
def test_a_malformed_step_is_refused_with_its_field(tmp_path, changes, message):
    path = write_trace(tmp_path, [step_json(**changes)])
    with pytest.raises(TraceError, match=message) as err:
        load_trace(path)
    assert str(path) in str(err.value)


@pytest.mark.parametrize(
    "steps, meta, message",
    [
        ([step_json(), step_json()], {}, "step numbers must increase"),
        (["step"], {}, "a step must be an object"),
        ([], {"token_strings": {"x": "a"}}, "'token_strings' must map token ids"),
        ([], {"token_strings": {"1": 5}}, "'token_strings' must map token ids"),
        ([], {"prompt_ids": [1, -2]}, "'prompt_ids' holds -2"),
        ([], {"tree": "2.2.2"}, "meta 'tree' must be an object"),
        ([], {"model": 5}, "meta 'model' must be a string"),
    ],
)
def test_malformed_steps_and_meta(tmp_path, steps, meta, message):
    with pytest.raises(TraceError, match=message):
        load_trace(write_trace(tmp_path, steps, meta))


def test_deeply_nested_json_is_a_trace_error(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TraceError, match="nested too deeply"):
        load_trace(path)


def test_every_fixture_step_passes_the_schema(tmp_path):
    """The checks accept every real trace: both fixtures, saved again, load unchanged."""
    for name in ("trace-small.json", "trace-paper.json"):
        trace = load_trace(DATA / name)
        back = load_trace(trace.save(tmp_path / name))
        assert back.steps == trace.steps and back.meta == trace.meta


# ----- output files -----------------------------------------------------------------------------


def test_a_png_is_written_atomically(tmp_path, monkeypatch):
    import plotly.graph_objects as go

    from trviz.export import save_png

    monkeypatch.setattr(go.Figure, "to_image", lambda self, **kw: b"\x89PNG first")
    path = save_png(go.Figure(), tmp_path / "f.png")
    assert path.read_bytes() == b"\x89PNG first" and oct(path.stat().st_mode & 0o777) == "0o644"

    def crash(self, **kw):
        raise RuntimeError("kaleido died")

    monkeypatch.setattr(go.Figure, "to_image", crash)
    with pytest.raises(RuntimeError):
        save_png(go.Figure(), path)
    assert path.read_bytes() == b"\x89PNG first"
    assert [p.name for p in tmp_path.iterdir()] == ["f.png"]


def test_replay_pages_refuse_meaningless_frame_counts(tmp_path):
    from trviz.animation import select_steps
    from trviz.errors import ConfigError
    from trviz.export import to_html

    trace = load_trace(DATA / "trace-small.json")
    for bad in (0, -3):
        with pytest.raises(ConfigError, match="max_frames must be a positive int"):
            to_html(trace, tmp_path / "r.html", max_frames=bad)
    with pytest.raises(ConfigError, match="stride of steps must be a positive int"):
        select_steps(trace, slice(0, 10, 0))
    with pytest.raises(ConfigError, match="none of the requested steps"):
        select_steps(trace, slice(500, 600))
    with pytest.raises(TraceError, match="no steps"):
        to_html(Trace({}, []), tmp_path / "e.html")
    assert list(tmp_path.iterdir()) == []
