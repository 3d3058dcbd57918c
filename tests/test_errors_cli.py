"""The command line as a hostile user meets it (issue 14, CLI).

Every command checks ALL its arguments and files before it loads a model or runs anything; a user
error is one line on stderr (``trviz CMD: error: ...``) and exit status 2, never a traceback; an
unexpected internal error keeps its traceback. The model is never loaded here: ``load_model`` is
replaced by a sentinel that proves validation passed when a test expects it to.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest
from test_trace import hand_trace

import trviz
import trviz.config
from trviz.commands import main
from trviz.trace import Trace

DATA = Path(__file__).parent / "data"
FIXTURE = DATA / "trace-small.json"


class Loaded(Exception):
    """Raised instead of loading a model: every argument was accepted."""


@pytest.fixture(autouse=True)
def no_model(monkeypatch, tmp_path):
    def sentinel(*a, **k):
        raise Loaded

    monkeypatch.setattr("trviz.model.load_model", sentinel)
    monkeypatch.setenv("TRVIZ_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(tmp_path)  # default outputs (runs/...) land here


def fails(argv: list[str], capsys, message: str) -> str:
    """Run ``trviz ARGV``; it must exit 2 with one line on stderr matching ``message``."""
    try:
        code = main(argv)
    except SystemExit as e:  # argparse's own errors
        code = e.code
    err = capsys.readouterr().err
    assert code == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith(f"trviz {argv[0]}: error: "), lines[0]
    assert message in lines[0], lines[0]
    return lines[0]


def accepted(argv: list[str]) -> None:
    """Every argument of ``trviz ARGV`` is accepted: the command goes on to load the model."""
    with pytest.raises(Loaded):
        main(argv)


@pytest.fixture
def readonly(tmp_path, monkeypatch):
    """A folder nobody may write in (root may write anywhere: os.access is told the truth)."""
    folder = tmp_path / "ro"
    folder.mkdir(mode=0o555)
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode: False if Path(p) == folder else real(p, mode))
    return folder


# ----- trviz demo -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (["--config", "fast"], "unknown config preset 'fast'"),
        (["--dtype", "int8"], "unsupported dtype 'int8'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--device", "cuda:99"], "not available on this machine"),
        (["--model", "/nonexistent"], "no such model folder: /nonexistent"),
        (["--max-new-tokens", "0"], "--max-new-tokens: must be a positive int, got 0"),
        (["--max-new-tokens", "-3"], "--max-new-tokens: must be a positive int, got -3"),
        (["--max-new-tokens", "many"], "--max-new-tokens: must be a positive int, got 'many'"),
    ],
)
def test_demo_refuses_bad_arguments_before_loading(capsys, args, message):
    fails(["demo", *args], capsys, message)


def test_an_unknown_option_is_one_line(capsys):
    with pytest.raises(SystemExit) as e:
        main(["demo", "--bogus"])
    assert e.value.code == 2
    assert capsys.readouterr().err == (
        "trviz: error: unrecognized arguments: --bogus (see trviz --help)\n"
    )


def test_demo_checks_its_trace_path_first(capsys, tmp_path, readonly):
    (tmp_path / "a-file").write_text("x")
    fails(["demo", "--trace", str(tmp_path / "a-file" / "t.json")], capsys, "is a file, not a")
    fails(["demo", "--trace", str(tmp_path)], capsys, "is a folder; give a file name")
    fails(["demo", "--trace", str(readonly / "t.json")], capsys, f"cannot write in {readonly}")
    if os.path.isdir("/proc"):  # writable to os.access as root, yet no file can be made there
        fails(["demo", "--trace", "/proc/trviz-t.json"], capsys, "cannot write in /proc")


def test_demo_accepts_good_arguments():
    accepted(["demo"])
    accepted(["demo", "--config", "paper", "--dtype", "bf16", "--device", "cpu",
              "--max-new-tokens", "4", "--trace", "out/t.json"])  # fmt: skip


# ----- trviz bench ------------------------------------------------------------------------------


@pytest.fixture
def prompts(tmp_path) -> Path:
    path = tmp_path / "p.jsonl"
    path.write_text('{"prompt": "hi", "category": "qa"}\n{"prompt": "yo", "category": "qa"}\n')
    return path


@pytest.mark.parametrize(
    "args, message",
    [
        (["--prompts", "/nonexistent.jsonl"], "cannot read prompt file /nonexistent.jsonl"),
        (["--max-new-tokens", "0"], "--max-new-tokens: must be a positive int, got 0"),
        (["--per-category", "0"], "--per-category: must be a positive int, got 0"),
        (["--per-category", "6"], "the built-in suite has 1..5 questions per category"),
        (["--limit", "-1"], "--limit: must be a positive int, got -1"),
        (["--limit", "0"], "--limit: must be a positive int, got 0"),
        (["--repeats", "0"], "--repeats: must be a positive int"),
        (["--k", "0"], "--k: must be a positive int"),
        (["--tree", "bushy"], "unknown tree 'bushy'"),
        (["--tree", "2.2.2", "--k", "4"], "reads rank 7 but the matrix keeps k=4"),
        (["--methods", "ar", "nope"], "unknown method 'nope'"),
        (["--methods", ","], "no methods"),
        (["--start", "warm"], "argument --start: invalid choice: 'warm'"),
        (["--dtype", "int8"], "unsupported dtype 'int8'"),
        (["--device", "tpu"], "unknown device 'tpu'"),
        (["--model", "/nonexistent"], "no such model folder"),
        (["--no-save"], "--no-save only applies with --sweep-trees"),
        (["--sweep-trees", "--markdown", "s.md"], "--markdown does not apply to --sweep-trees"),
        (["--sweep-trees", "--k", "4"], "--k does not apply to --sweep-trees"),
        (["--sweep-trees", "--limit", "2"], "--per-category/--limit apply to --prompts"),
    ],
)
def test_bench_refuses_bad_arguments_before_loading(capsys, args, message):
    fails(["bench", *args], capsys, message)


def test_bench_reads_its_prompt_file_first(capsys, tmp_path):
    bad = tmp_path / "latin1.jsonl"
    bad.write_bytes('{"prompt": "caf\xe9"}\n'.encode("latin-1"))
    fails(["bench", "--prompts", str(bad)], capsys, "is not UTF-8 text")
    empty = tmp_path / "empty.jsonl"
    empty.write_text("\n")
    fails(["bench", "--prompts", str(empty)], capsys, "no prompts")
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"prompt": "a"}\n{"prompt": \n')
    fails(["bench", "--prompts", str(broken)], capsys, "broken.jsonl:2: not valid JSON")
    fails(["bench", "--prompts", str(tmp_path)], capsys, "is a folder")


def test_bench_checks_every_output_path_first(capsys, tmp_path, prompts, readonly):
    (tmp_path / "a-file").write_text("x")
    for option in ("--json", "--markdown", "--html"):
        fails(["bench", option, str(readonly / "x")], capsys, f"{option} {readonly}/x: cannot")
        fails(["bench", option, str(tmp_path / "a-file" / "x")], capsys, "is a file, not a")
    fails(["bench", "--json", "r.out", "--markdown", "r.out"], capsys, "the same file")
    fails(["bench", "--prompts", str(prompts), "--json", str(prompts)], capsys, "the same file")


def test_bench_accepts_good_arguments(prompts):
    accepted(["bench"])
    accepted(["bench", "--prompts", str(prompts), "--per-category", "1", "--limit", "1",
              "--methods", "ar", "tr", "--json", "b.json", "--max-new-tokens", "8"])  # fmt: skip
    accepted(["bench", "--sweep-trees", "--no-save"])


def test_bench_list_methods_needs_no_model(capsys):
    assert main(["bench", "--list-methods"]) == 0
    assert "tr-paper" in capsys.readouterr().out


# ----- trviz replay -----------------------------------------------------------------------------


def test_replay_of_a_good_trace(capsys, tmp_path):
    assert main(["replay", str(FIXTURE), "--step", "3"]) == 0
    assert "step 3" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--max-frames", "0"], "--max-frames: must be a positive int, got 0"),
        (["--max-frames", "-4"], "--max-frames: must be a positive int"),
        (["--steps", "0:10:0"], "--steps: the stride must be a positive int"),
        (["--steps", "0:10:-2"], "--steps: the stride must be a positive int"),
        (["--steps", "a:b"], "--steps: expected START:STOP[:STRIDE] of step numbers"),
        (["--steps=-5:"], "--steps: step numbers are >= 0"),
        (["--steps", "1:2:3:4"], "--steps: expected START:STOP[:STRIDE]"),
        (["--steps", "500:900", "--html", "x.html"], "none of the requested steps"),
        (["--step", "999"], "step 999 is not in this trace (steps 0.."),
        (["--view", "sideways"], "invalid choice: 'sideways'"),
    ],
)
def test_replay_refuses_bad_arguments(capsys, args, message):
    fails(["replay", str(FIXTURE), *args], capsys, message)


def test_replay_refuses_bad_files(capsys, tmp_path):
    fails(["replay", str(tmp_path / "missing.json")], capsys, "No such file")
    if os.path.exists("/dev/zero"):
        fails(["replay", "/dev/zero"], capsys, "not a regular file")
    edited = tmp_path / "edited.json"
    hand_trace().save(edited)
    edited.write_text(edited.read_text().replace('"bonus":13', '"bonus":14'))
    fails(["replay", str(edited)], capsys, "does not match its checksum")
    typed = tmp_path / "typed.json"
    data = json.loads(FIXTURE.read_text())
    data["steps"][2]["step"] = "zero"
    typed.write_text(json.dumps(data))
    fails(["replay", str(typed)], capsys, "steps[2]: 'step' must be an int >= 0, got 'zero'")


def test_replay_checks_outputs_and_views_first(capsys, tmp_path, readonly):
    fails(["replay", str(FIXTURE), "--html", str(readonly / "r.html")], capsys, "cannot write")
    fails(["replay", str(FIXTURE), "--png", str(tmp_path)], capsys, "is a folder")
    full = hand_trace()
    cut = dict.fromkeys(("tokens", "parents", "ranks", "depths", "argmax", "rows_read"))
    steps = [replace(s, rows_written=None, **cut) for s in full.steps]  # level "summary"
    summary = Trace(full.meta, steps).save(tmp_path / "summary.json")
    fails(["replay", str(summary), "--png", "t.png", "--view", "tree"], capsys, "level 'summary'")
    assert not (tmp_path / "t.png").exists()


def test_an_empty_trace_replays_as_a_summary(capsys, tmp_path):
    path = Trace({"method": "tr", "model": "m"}, []).save(tmp_path / "empty.json")
    assert main(["replay", str(path)]) == 0
    assert "0 steps" in capsys.readouterr().out
    fails(["replay", str(path), "--html", "e.html"], capsys, "the trace has no steps")
    fails(["replay", str(path), "--step", "0"], capsys, "the trace has no steps")


# ----- the command itself -----------------------------------------------------------------------


def test_an_internal_error_keeps_its_traceback(monkeypatch):
    def bug(*a, **k):
        raise ZeroDivisionError("a bug")

    monkeypatch.setattr("trviz.text.run_text", bug)
    with pytest.raises(ZeroDivisionError):
        main(["replay", str(FIXTURE)])


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "trviz", *args], capture_output=True, text=True, timeout=300
    )


def test_python_m_trviz_and_version():
    out = run_cli("--version")
    assert out.returncode == 0 and out.stdout.strip() == f"trviz {trviz.__version__}"
    out = run_cli()
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("trviz: error: ")


def test_a_user_error_in_a_real_process_is_one_line():
    out = run_cli("demo", "--config", "fast")
    assert out.returncode == 2
    presets = sorted(trviz.config.PRESETS)
    assert out.stderr.strip() == (
        f"trviz demo: error: unknown config preset 'fast'; choose from {presets}"
    )
    assert "loading" not in out.stdout
