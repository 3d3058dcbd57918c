"""The benchmark protocol: warm-up, then every method on every question turn, interleaved.

- Warm-up: each method decodes the warm-up prompts first, untimed (TR's hot-start matrices are fed
  by them, as the paper's 3 warm-up runs feed its matrix; kernels and allocators warm up).
- Interleaving: question turns are run one after another, and on each turn every method runs
  once (``repeats`` times), in an order rotated by one per turn, so machine drift and ordering
  effects hit all methods alike (:func:`schedule`).
- Timing: wall clock around the whole call, prefill included, CUDA synchronised on both sides.
- Multi-turn questions: turn ``t`` sees the earlier turns with the *baseline's* answers as the
  assistant messages, so every method decodes exactly the same context.
- Exactness: every method's tokens are compared with the baseline's. In fp32 a mismatch is an
  error, printed at once and listed in ``result.failures``; in bf16/fp16 the rate is reported.
- Ctrl-C: the turns finished so far are kept (``result.interrupted`` is set); ``on_item`` is
  called after every finished turn, e.g. to rewrite the JSON file.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from trviz.bench.methods import DEFAULT_METHODS, MethodState, get_method
from trviz.bench.result import BenchResult, median
from trviz.bench.suite import DEFAULT_MAX_NEW_TOKENS, WARMUP_PROMPTS, Question, builtin_suite
from trviz.checks import int_at_least
from trviz.errors import ConfigError
from trviz.plumbing import Clock, dtype_name

EXACT_DTYPES = ("float32", "float64")


def schedule(n_items: int, methods: Sequence[str]) -> list[list[str]]:
    """Method order for each turn: the list rotated by one per turn (turn i starts at i mod m)."""
    m = len(methods)
    return [list(methods[i % m :]) + list(methods[: i % m]) for i in range(n_items)]


class ForwardCounter:
    """Counts calls to ``model.forward`` while active (target forwards, whatever the method)."""

    def __init__(self, model):
        self.model, self.count, self._handle = model, 0, None

    def _hook(self, module, args, kwargs=None) -> None:
        self.count += 1

    def __enter__(self) -> ForwardCounter:
        self.count = 0
        self._handle = self.model.register_forward_pre_hook(self._hook)
        return self

    def __exit__(self, *exc: Any) -> None:
        self._handle.remove()


def first_diff(a: Sequence[int], b: Sequence[int]) -> int | None:
    """Index of the first differing token (a length difference counts), or None if equal."""
    for i, (x, y) in enumerate(zip(a, b, strict=False)):
        if x != y:
            return i
    return None if len(a) == len(b) else min(len(a), len(b))


def busy_cpu_s() -> float | None:
    """CPU-seconds spent busy by every process on the machine so far (Linux ``/proc/stat``);
    None where that file does not exist."""
    try:
        with open("/proc/stat", encoding="ascii") as f:
            fields = [int(x) for x in f.readline().split()[1:9]]
    except (OSError, ValueError):
        return None
    user, nice, system, _idle, _iowait, irq, softirq, steal = fields
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def timed_call(
    name: str, model, tokenizer, prompt: Any, max_new_tokens: int, state: MethodState
) -> tuple[Any, dict[str, Any]]:
    """Run one method once: ``(result, measure)`` where measure has ``wall_s``, ``forwards``
    (target forwards), ``cpu_s`` (this process's CPU time) and ``others_cores`` (cores other
    processes kept busy on average meanwhile: the contention the timing suffered)."""
    fn, clock = get_method(name).fn, Clock(model.device)
    with ForwardCounter(model) as counter:
        busy0, cpu0 = busy_cpu_s(), time.process_time()
        t0 = clock()
        result = fn(model, tokenizer, prompt, max_new_tokens, state)
        wall = clock() - t0
        cpu, busy1 = time.process_time() - cpu0, busy_cpu_s()
    others = None if busy0 is None or busy1 is None else max(busy1 - busy0 - cpu, 0.0) / wall
    if state.start == "hot" and getattr(result, "matrix", None) is not None:
        state.matrix = result.matrix  # hot start: the next prompt starts from this matrix
    return result, {"wall_s": wall, "forwards": counter.count, "cpu_s": cpu, "others_cores": others}


def _turn_prompt(question: Question, turn: int, history: list[dict[str, str]]) -> Any:
    """A single-turn question is its string; later turns are chat messages with the history."""
    if len(question.turns) == 1:
        return question.turns[0]
    return [*history, {"role": "user", "content": question.turns[turn]}]


def run_item(
    model,
    tokenizer,
    prompt: Any,
    order: list[str],
    baseline: str,
    states: dict[str, MethodState],
    max_new_tokens: int,
    repeats: int,
) -> tuple[dict[str, Any], Any]:
    """Every method on one prompt, in ``order``; returns the per-method measurements and the
    baseline's result (whose answer becomes the next turn's history)."""
    results, measures = {}, {}
    for name in order:
        calls = []
        for _ in range(repeats):
            # with a hot start, each repeat starts from the same matrix; the last one carries on
            start_matrix = states[name].matrix
            res, measure = timed_call(name, model, tokenizer, prompt, max_new_tokens, states[name])
            calls.append(measure)
            if len(calls) < repeats:
                states[name].matrix = start_matrix
        results[name] = res
        others = [c["others_cores"] for c in calls if c["others_cores"] is not None]
        measures[name] = {
            "new_tokens": len(res.tokens), "wall_s": median([c["wall_s"] for c in calls]),
            "walls": [c["wall_s"] for c in calls], "cpu_s": median([c["cpu_s"] for c in calls]),
            "others_cores": sum(others) / len(others) if others else None,
            "forwards": calls[-1]["forwards"], "finish_reason": res.finish_reason,
            "verified": getattr(res.stats, "verified", 0),  # TR: tokens its forwards verified
        }  # fmt: skip
    base = results[baseline]
    for name, m in measures.items():
        diff = first_diff(results[name].tokens, base.tokens)
        m.update(
            exact=diff is None,
            first_diff=diff,
            mat=m["new_tokens"] / max(m["forwards"] - 1, 1),
            tokens_per_s=m["new_tokens"] / m["wall_s"] if m["wall_s"] > 0 else 0.0,
        )
    return {"prompt_tokens": len(base.prompt_ids), "methods": measures}, base


def run_bench(
    model,
    tokenizer,
    questions: list[Question] | None = None,
    *,
    max_new_tokens: int = DEFAULT_MAX_NEW_TOKENS,
    methods: Sequence[str] = DEFAULT_METHODS,
    baseline: str = "ar",
    start: str = "hot",
    tree: Any = None,
    k: int | None = None,
    repeats: int = 1,
    warmup_prompts: Sequence[str] = WARMUP_PROMPTS,
    progress: bool = True,
    on_item: Callable[[BenchResult], None] | None = None,
    meta: dict[str, Any] | None = None,
) -> BenchResult:
    """Benchmark ``methods`` on ``questions`` (default: the built-in suite); see the module doc.

    The baseline is added to ``methods`` when missing. ``tree``/``k`` override the tree and k of
    the ``tr`` method; ``start`` is ``"hot"``, ``"cold"`` or ``"seeded"`` for TR methods.
    Returns a :class:`BenchResult`; Ctrl-C returns the turns finished so far.
    """

    questions = builtin_suite() if questions is None else questions
    if not questions:
        raise ConfigError("no questions to benchmark (check --per-category / --limit)")
    int_at_least("max_new_tokens", max_new_tokens, 1)
    int_at_least("repeats", repeats, 1)
    methods = list(dict.fromkeys([baseline, *methods]))
    for name in methods:
        get_method(name)
    states = {name: MethodState(start=start, tree=tree, k=k) for name in methods}
    settings = {"baseline": baseline, "max_new_tokens": max_new_tokens, "start": start,
                "repeats": repeats, "warmup_prompts": len(warmup_prompts)}  # fmt: skip
    result = BenchResult(bench_meta(model, methods, states, settings, questions, meta or {}))
    for prompt in warmup_prompts:
        for name in methods:
            timed_call(name, model, tokenizer, prompt, max_new_tokens, states[name])
    try:
        _run_questions(model, tokenizer, questions, states, result, progress, on_item)
    except KeyboardInterrupt:
        result.interrupted = True
        print(f"interrupted: keeping the {len(result.per_prompt)} finished turns", file=sys.stderr)
    finally:
        result.meta.update(load_end=list(os.getloadavg()), finished_at=_now())
    return result


def _run_questions(
    model,
    tokenizer,
    questions: list[Question],
    states: dict[str, MethodState],
    result: BenchResult,
    progress: bool,
    on_item: Callable[[BenchResult], None] | None,
) -> None:
    """The timed loop: question by question, turn by turn, every method on each turn."""
    from tqdm.auto import tqdm

    meta = result.meta
    n_items = sum(len(q.turns) for q in questions)
    orders = iter(schedule(n_items, result.methods))
    with tqdm(total=n_items, disable=not progress, unit="turn", desc="bench",
              dynamic_ncols=True) as bar:  # fmt: skip
        for q in questions:
            history: list[dict[str, str]] = []
            for turn, text in enumerate(q.turns):
                order = next(orders)
                rec, base = run_item(model, tokenizer, _turn_prompt(q, turn, history), order,
                                     meta["baseline"], states, meta["max_new_tokens"],
                                     meta["repeats"])  # fmt: skip
                history += [{"role": "user", "content": text},
                            {"role": "assistant", "content": base.text}]  # fmt: skip
                result.per_prompt.append({"question_id": q.qid, "category": q.category,
                                          "turn": turn, "order": order, **rec,
                                          "load_1min": os.getloadavg()[0]})  # fmt: skip
                _report_mismatches(result, lambda s: bar.write(s, file=sys.stderr))
                bar.set_postfix_str(_live(result), refresh=False)
                bar.update(1)
                if on_item is not None:
                    on_item(result)


def _report_mismatches(result: BenchResult, write: Callable[[str], None]) -> None:
    rec = result.per_prompt[-1]
    for name, m in rec["methods"].items():
        if not m["exact"] and result.meta["exact_required"]:
            write(
                f"MISMATCH (error in {result.meta['dtype']}): {name} differs from "
                f"{result.baseline} on {rec['question_id']} turn {rec['turn']} at new token "
                f"{m['first_diff']}"
            )


def _live(result: BenchResult) -> str:
    """Running speedups, for the progress bar."""
    parts = [f"{m} {s['speedup']:.2f}x" for m, s in result.summary.items() if m != result.baseline]
    return "  ".join(parts)


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def bench_meta(model, methods: list[str], states: dict[str, MethodState],
               settings: dict[str, Any], questions: list[Question],
               extra: dict[str, Any]) -> dict[str, Any]:  # fmt: skip
    """Settings, machine, versions and load, recorded with the result."""
    import transformers

    import trviz

    dtype = dtype_name(model.dtype)
    info = {}
    for name in methods:
        method = get_method(name)
        described = method.describe(model, states[name]) if method.describe else {}
        info[name] = {"description": method.description, **described}
    return {
        "methods": methods, **settings, "method_info": info,
        "model": model.name_or_path or type(model).__name__, "device": str(model.device),
        "dtype": dtype, "exact_required": dtype in EXACT_DTYPES, "questions": len(questions),
        "turns": sum(len(q.turns) for q in questions),
        "sources": sorted({q.source.split(":")[0] for q in questions}),
        "threads": torch.get_num_threads(), "interop_threads": torch.get_num_interop_threads(),
        "cpu": _cpu_name(), "cpu_count": os.cpu_count(),
        "gpu": torch.cuda.get_device_name(model.device) if model.device.type == "cuda" else None,
        "versions": {"python": platform.python_version(), "torch": torch.__version__,
                     "transformers": transformers.__version__, "trviz": trviz.__version__},
        "platform": platform.platform(), "load_start": list(os.getloadavg()),
        "started_at": _now(), **extra,
    }  # fmt: skip


def _cpu_name() -> str:
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"
