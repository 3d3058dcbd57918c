"""The benchmark protocol on tiny random models: interleaving, exactness checks, multi-turn
history, hot start, repeats, Ctrl-C, the JSON schema. No timing is asserted anywhere."""

from __future__ import annotations

import json

import pytest
import torch
from tiny_models import TinyTokenizer, make_tiny

from trviz.bench import report
from trviz.bench.methods import ABLATIONS, METHODS, MethodState, register_method, tr_method
from trviz.bench.result import load_result
from trviz.bench.runner import first_diff, run_bench, schedule, timed_call
from trviz.bench.suite import WARMUP_PROMPTS as WARMUP
from trviz.bench.suite import Question
from trviz.decode import greedy

WARM = ["t3 t4 t5 t6"]
QS = [
    Question("a", "code", ("t5 t6 t7 t8 t5 t6",)),
    Question("b", "qa", ("t9 t10 t11 t9 t10",)),
    Question("c", "code", ("t12 t13 t14",)),
]


class ChatTinyTokenizer(TinyTokenizer):
    """TinyTokenizer with a chat template: messages become 't1 <content ids> t1' per message."""

    chat_template = "tiny"

    def apply_chat_template(self, messages, add_generation_prompt, tokenize, return_dict):
        ids = []
        for m in messages:
            ids += [1] + [int(w[1:]) for w in m["content"].split()] + [1]
        return {"input_ids": ids}


@pytest.fixture(scope="module")
def tiny():
    return make_tiny("llama")


@pytest.fixture
def methods(monkeypatch):
    """Register test methods for one test only."""

    def add(name, fn, description="test method"):
        monkeypatch.setitem(METHODS, name, METHODS.get(name))
        register_method(name, fn, description)

    return add


def test_schedule_rotates_so_every_method_takes_every_position():
    orders = schedule(6, ["ar", "hf", "tr"])
    assert orders[:3] == [["ar", "hf", "tr"], ["hf", "tr", "ar"], ["tr", "ar", "hf"]]
    assert orders[3:] == orders[:3]
    for pos in range(3):
        assert sorted(o[pos] for o in orders[:3]) == ["ar", "hf", "tr"]


def test_first_diff():
    assert first_diff([1, 2, 3], [1, 2, 3]) is None
    assert first_diff([1, 2, 3], [1, 5, 3]) == 1
    assert first_diff([1, 2], [1, 2, 3]) == 2


def test_methods_run_interleaved_in_schedule_order(tiny, methods):
    calls = []

    def spy(name):
        def fn(model, tok, prompt, n, state):
            calls.append((name, prompt))
            return greedy(model, tok, prompt, n, record="none")

        return fn

    for name in ("spy-a", "spy-b", "spy-c"):
        methods(name, spy(name))
    r = run_bench(tiny, TinyTokenizer(), QS, max_new_tokens=6, methods=["spy-b", "spy-c"],
                  baseline="spy-a", warmup_prompts=WARM, progress=False)  # fmt: skip
    assert r.methods == ["spy-a", "spy-b", "spy-c"]
    warm, timed = calls[:3], calls[3:]
    assert [p for _, p in warm] == WARM * 3
    orders = schedule(3, r.methods)
    expected = [(name, q.turns[0]) for q, order in zip(QS, orders, strict=True) for name in order]
    assert timed == expected
    assert [rec["order"] for rec in r.per_prompt] == schedule(3, r.methods)


def test_smoke_all_default_methods_tiny(tiny):
    r = run_bench(tiny, TinyTokenizer(), QS, max_new_tokens=12, warmup_prompts=WARM,
                  progress=False)  # fmt: skip
    assert r.methods == ["ar", "hf", "pld", "tr", "tr-paper"]
    assert not r.interrupted and len(r.per_prompt) == 3
    for name in ("tr", "tr-paper"):  # Token Recycling is lossless in fp32
        assert r.summary[name]["exact_fraction"] == 1.0
    assert r.summary["ar"]["mat"] == 1.0 and r.summary["ar"]["speedup"] == 1.0
    for rec in r.per_prompt:
        for name, m in rec["methods"].items():
            assert m["new_tokens"] == 12 or m["finish_reason"] == "eos", name
            assert m["forwards"] >= 2
    assert r.meta["method_info"]["tr-paper"]["tree"] == "2.2.2"
    assert r.meta["method_info"]["tr-paper"]["tree_size"] == 81
    assert r.meta["exact_required"] is True and r.failures == []


def test_wrong_method_is_caught_in_fp32(tiny, methods, capsys):
    def wrong(model, tok, prompt, n, state):
        res = greedy(model, tok, prompt, n, record="none")
        res.tokens[0] = (res.tokens[0] + 1) % 96  # one wrong token
        return res

    methods("wrong", wrong)
    r = run_bench(tiny, TinyTokenizer(), QS[:2], max_new_tokens=8, methods=["wrong"],
                  warmup_prompts=WARM, progress=True)  # fmt: skip
    assert r.summary["wrong"]["exact_fraction"] == 0.0
    assert [(f["question_id"], f["method"], f["first_diff"]) for f in r.failures] == [
        ("a", "wrong", 0), ("b", "wrong", 0)]  # fmt: skip
    assert "MISMATCH" in capsys.readouterr().err


def test_bf16_reports_mismatch_rate_instead_of_failing(methods):
    model = make_tiny("llama").to(torch.bfloat16)

    def wrong_on_a(model, tok, prompt, n, state):
        res = greedy(model, tok, prompt, n, record="none")
        if prompt == QS[0].turns[0]:
            res.tokens[0] = (res.tokens[0] + 1) % 96
        return res

    methods("wrong-a", wrong_on_a)
    r = run_bench(model, TinyTokenizer(), QS[:2], max_new_tokens=6, methods=["wrong-a"],
                  warmup_prompts=WARM, progress=False)  # fmt: skip
    assert r.meta["dtype"] == "bfloat16" and r.meta["exact_required"] is False
    assert r.failures == []
    assert len(r.mismatches) == 1 and r.summary["wrong-a"]["exact_fraction"] == 0.5


def test_multi_turn_uses_baseline_answers_as_history(tiny, methods):
    seen = []

    def spy(model, tok, prompt, n, state):
        seen.append(prompt)
        return greedy(model, tok, prompt, n, record="none")

    methods("spy", spy)
    q = Question("mt", "mt_bench", ("t5 t6 t7", "t8 t9"))
    tok = ChatTinyTokenizer()
    r = run_bench(tiny, tok, [q], max_new_tokens=5, methods=["spy"], warmup_prompts=[],
                  progress=False)  # fmt: skip
    first_answer = greedy(tiny, tok, "t5 t6 t7", 5, record="none").text
    assert seen == [
        [{"role": "user", "content": "t5 t6 t7"}],
        [{"role": "user", "content": "t5 t6 t7"},
         {"role": "assistant", "content": first_answer},
         {"role": "user", "content": "t8 t9"}],
    ]  # fmt: skip
    assert [rec["turn"] for rec in r.per_prompt] == [0, 1]
    assert r.summary["spy"]["exact_fraction"] == 1.0


@pytest.mark.parametrize("start", ["hot", "cold", "seeded"])
def test_start_modes_and_repeats(tiny, methods, start):
    inner = tr_method("default", overridable=True)
    log = []

    def spy(model, tok, prompt, n, state: MethodState):
        log.append((prompt, state.matrix, state.tree))
        return inner(model, tok, prompt, n, state)

    methods("tr-spy", spy)
    r = run_bench(tiny, TinyTokenizer(), QS[:2], max_new_tokens=8, methods=["tr-spy"],
                  start=start, tree="tr-8", repeats=2, warmup_prompts=WARM,
                  progress=False)  # fmt: skip
    assert [t for _, _, t in log] == ["tr-8"] * 5
    (_, m_warm, _), (_, m_a1, _), (_, m_a2, _), (_, m_b1, _), (_, m_b2, _) = log
    assert m_warm is None
    if start == "hot":  # carried forward; each repeat starts from the same matrix
        assert m_a1 is not None and m_a1 is m_a2 and m_b1 is m_b2 and m_b1 is not m_a1
    else:
        assert m_a1 is None and m_b1 is None  # the state holds none; every prompt starts fresh
    assert all(len(rec["methods"]["tr-spy"]["walls"]) == 2 for rec in r.per_prompt)
    assert r.summary["tr-spy"]["exact_fraction"] == 1.0
    assert r.meta["method_info"]["tr-spy"]["description"] == "test method"


def test_ctrl_c_keeps_finished_turns(tiny, methods, tmp_path):
    calls = {"n": 0}

    def interrupting(model, tok, prompt, n, state):
        calls["n"] += 1
        if calls["n"] == 3:  # warm-up, turn a, then Ctrl-C during turn b
            raise KeyboardInterrupt
        return greedy(model, tok, prompt, n, record="none")

    methods("stop", interrupting)
    out = tmp_path / "bench.json"
    saved = []
    r = run_bench(tiny, TinyTokenizer(), QS, max_new_tokens=5, methods=["stop"],
                  warmup_prompts=WARM, progress=False,
                  on_item=lambda res: saved.append(res.save(out)))  # fmt: skip
    assert r.interrupted and [rec["question_id"] for rec in r.per_prompt] == ["a"]
    assert len(saved) == 1 and json.loads(out.read_text())["meta"]["completed_prompts"] == 1
    r.save(out)
    assert json.loads(out.read_text())["meta"]["interrupted"] is True


def test_json_schema_and_round_trip(tiny, tmp_path):
    r = run_bench(tiny, TinyTokenizer(), QS, max_new_tokens=6, methods=["tr"],
                  warmup_prompts=WARM, progress=False, meta={"suite": "test"})  # fmt: skip
    data = json.loads(json.dumps(r.to_json()))
    assert set(data) == {"meta", "summary", "per_category", "per_prompt"}
    for key in (
        "model",
        "device",
        "dtype",
        "threads",
        "versions",
        "load_start",
        "load_end",
        "max_new_tokens",
        "start",
        "methods",
        "baseline",
        "cpu",
    ):
        assert key in data["meta"], key
    assert data["meta"]["suite"] == "test" and data["meta"]["schema"] == "trviz.bench/1"
    assert set(data["summary"]) == {"ar", "tr"}
    for stats in [
        *data["summary"].values(),
        *(m for cat in data["per_category"].values() for m in cat.values()),
    ]:
        for key in ("speedup", "mat", "tokens_per_s", "exact_fraction"):
            assert isinstance(stats[key], float), key
    assert list(data["per_category"]) == ["qa", "code"]  # the paper's column order
    assert data["per_category"]["code"]["tr"]["prompts"] == 2
    rec = data["per_prompt"][0]
    assert {"question_id", "category", "turn", "order", "prompt_tokens", "methods"} <= set(rec)
    assert {"new_tokens", "wall_s", "forwards", "exact", "first_diff", "mat"} <= set(
        rec["methods"]["tr"]
    )
    back = load_result(r.save(tmp_path / "r.json"))
    assert back.summary == r.summary and back.per_category == r.per_category


def test_mat_counts_target_forwards(tiny):
    tok = TinyTokenizer()
    for name in ("ar", "tr", "tr-paper"):
        res, measure = timed_call(name, tiny, tok, QS[0].turns[0], 10, MethodState())
        assert measure["forwards"] == res.stats.steps + 1, name  # prefill + one per step
        assert measure["cpu_s"] > 0 and measure["others_cores"] >= 0
    r = run_bench(tiny, tok, QS[:1], max_new_tokens=10, methods=["tr-paper"],
                  warmup_prompts=WARM, progress=False)  # fmt: skip
    for m in r.per_prompt[0]["methods"].values():
        assert m["mat"] == m["new_tokens"] / (m["forwards"] - 1)
    assert r.per_prompt[0]["methods"]["ar"]["mat"] == 1.0


def test_unknown_method_is_refused(tiny):
    with pytest.raises(ValueError, match="unknown method 'nope'"):
        run_bench(tiny, TinyTokenizer(), QS, methods=["nope"], progress=False)


@pytest.mark.slow
def test_smollm_every_method_matches_greedy_fp32(smollm):
    """The real model, built-in prompts (a two-turn chat and HumanEval code), every default
    method: identical tokens to greedy in fp32."""
    from trviz.bench.suite import builtin_suite

    model, tok = smollm
    qs = [q for q in builtin_suite(1) if q.category in ("mt_bench", "code")]
    r = run_bench(model, tok, qs, max_new_tokens=24, warmup_prompts=WARMUP[:1], progress=False)
    assert len(r.per_prompt) == 3
    assert r.failures == [] and r.mismatches == []
    assert r.summary["tr-paper"]["mat"] > 1.0  # hot start: drafts get accepted on real text


def test_drafter_ablations_are_exact_and_sized_like_their_reference(tiny):
    r = run_bench(tiny, TinyTokenizer(), QS, max_new_tokens=12, methods=["ar", "tr", *ABLATIONS],
                  warmup_prompts=WARM, progress=False)  # fmt: skip
    info = r.meta["method_info"]
    assert r.failures == [] and all(r.summary[m]["exact_fraction"] == 1.0 for m in ABLATIONS)
    # The reference: tr-8 + a 5-node longest-match copy chain on a CPU in fp32: 14 tokens.
    assert info["tr-static"]["tree"] == "tr-8+copy5" and info["tr-static"]["tree_size"] == 14
    assert info["tr-lookup"]["tree"] == "tr-8+lookup5" and info["tr-lookup"]["tree_size"] == 14
    for name in ("tr-nocopy", "tr-paper-small"):
        assert info[name]["tree"] == "auto-13" and info[name]["tree_size"] == 14, name
    for name in ("tr-select", "tr-select-lookup"):  # the best 13 candidates each step
        assert info[name]["tree_size"] == 14 and info[name]["config"]["budget_nodes"] == 13
        assert r.summary[name]["tokens_per_forward"] <= 14
    assert info["tr-paper-small"]["config"]["dedupe"] is False
    assert info["tr-nocopy"]["config"]["dedupe"] is True
    assert info["tr-nocopy"]["config"]["copy"] == 0 and info["tr-nocopy"]["config"]["lookup"] == 0
    # budget rows are sized per step: the run measures their mean tokens per forward
    assert info["tr"]["tree_size"] is None and info["tr-budget-lookup"]["tree_size"] is None
    assert r.summary["tr"]["tokens_per_forward"] >= 1
    assert "mean" in report.header_line(r)
    # The paper tree's root uses all 8 ranks: the lookup chain replaces the rank-7 subtree.
    assert info["tr-paper-lookup"]["tree"] == "2.2.2+lookup5"
    assert info["tr-paper-lookup"]["tree_size"] == 84
    assert info["tr-paper-dedupe"]["config"]["dedupe"] is True
