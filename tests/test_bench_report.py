"""Tables, figures, the tree sweep and its cache, and the CLI wiring (tiny models, no timing
assertions)."""

from __future__ import annotations

import json
from types import SimpleNamespace

import pytest
from tiny_models import TinyTokenizer, make_tiny

from trviz.bench import report
from trviz.bench.result import BenchResult
from trviz.bench.sweep import best_measured_tree, forward_cost_grid, sweep_trees
from trviz.commands import build_parser
from trviz.config import AUTO_SAMPLING_TREES, AUTO_TREES, TRConfig
from trviz.run import choose_cost, choose_tree
from trviz.sweep_cache import load_sweep, save_sweep, sweep_key, swept_tree
from trviz.trees import get_tree


def _rec(qid, cat, tokens, walls, forwards, exact=None):
    exact = exact or {}
    return {"question_id": qid, "category": cat, "turn": 0, "order": list(walls),
            "methods": {m: {"new_tokens": tokens, "wall_s": w, "forwards": forwards[m],
                            "exact": exact.get(m, True), "first_diff": None}
                        for m, w in walls.items()}}  # fmt: skip


@pytest.fixture
def hand_result():
    """Two categories, hand-made numbers: tr is 2x faster on code, 1x on qa."""
    meta = {"methods": ["ar", "tr"], "baseline": "ar", "model": "m", "dtype": "float32",
            "device": "cpu", "cpu": "cpu", "threads": 2, "max_new_tokens": 10, "start": "hot",
            "questions": 2, "repeats": 1, "load_start": [0.5], "exact_required": True}  # fmt: skip
    recs = [
        _rec("c", "code", 10, {"ar": 1.0, "tr": 0.5}, {"ar": 11, "tr": 5}),
        _rec("q", "qa", 10, {"ar": 1.0, "tr": 1.0}, {"ar": 11, "tr": 6}, {"tr": False}),
    ]
    return BenchResult(meta, recs)


def test_aggregates_by_hand(hand_result):
    s = hand_result.summary
    assert s["ar"]["speedup"] == 1.0 and s["ar"]["mat"] == 1.0
    assert s["tr"]["speedup"] == pytest.approx(20 / 1.5 / 10)  # tokens/s ratio over all prompts
    assert s["tr"]["mat"] == pytest.approx(20 / (4 + 5))
    assert s["tr"]["exact_fraction"] == 0.5
    cats = hand_result.per_category
    assert list(cats) == ["qa", "code"]  # paper order: QA before code
    assert cats["code"]["tr"]["speedup"] == pytest.approx(2.0)
    assert cats["qa"]["tr"]["mat"] == pytest.approx(2.0)
    assert s["tr"]["cpu_speedup"] is None and s["tr"]["others_cores"] is None  # not recorded
    assert hand_result.failures == [{"question_id": "q", "turn": 0, "method": "tr",
                                     "first_diff": None}]  # fmt: skip


def test_text_and_markdown_tables(hand_result):
    text = report.to_text(hand_result)
    lines = text.splitlines()
    head = next(ln for ln in lines if ln.startswith("method"))
    assert head.split() == ["method", "QA", "Code", "MAT", "tok/s", "speedup", "CPU-time",
                            "speedup", "exact"]  # fmt: skip
    tr_row = next(ln for ln in lines if ln.startswith("tr ")).split()
    assert tr_row == ["tr", "1.00x", "2.00x", "2.22", "13.3", "1.33x", "-", "50%"]
    assert "contention: not measured" in text
    assert "ERROR: 1 outputs differ from ar" in text
    md = report.to_markdown(hand_result)
    assert "| method | QA | Code | MAT | tok/s | speedup | CPU-time speedup | exact |" in md
    assert "| tr | 1.00x | 2.00x | 2.22 | 13.3 | 1.33x | - | 50% |" in md
    assert "| tr | 2.00 | 2.50 | 2.22 |" in md  # MAT per category


def test_cpu_speedup_and_contention(hand_result):
    for rec, (ar_cpu, tr_cpu) in zip(hand_result.per_prompt, [(2.0, 1.0), (2.0, 1.0)], strict=True):
        rec["methods"]["ar"].update(cpu_s=ar_cpu, others_cores=0.5)
        rec["methods"]["tr"].update(cpu_s=tr_cpu, others_cores=1.5)
    s = hand_result.summary
    assert s["tr"]["cpu_speedup"] == pytest.approx(2.0) and s["tr"]["others_cores"] == 1.5
    assert report.contention_line(hand_result).startswith("contention: other processes kept 1.00")


def test_figures(hand_result):
    bars = report.speedup_figure(hand_result)
    assert [t.name for t in bars.data] == ["ar", "tr"]
    assert list(bars.data[1].x) == ["QA", "Code", "overall"]
    assert list(bars.data[1].y) == pytest.approx([1.0, 2.0, 4 / 3])
    scatter = report.mat_speedup_figure(hand_result)
    overall = [t for t in scatter.data if t.name == "tr"][0]
    assert overall.x[0] == pytest.approx(20 / 9) and overall.y[0] == pytest.approx(4 / 3)
    json.dumps(bars.to_plotly_json(), default=str)  # serialisable


SWEEP = {
    "cost_s": {"1": 0.040, "9": 0.050, "81": 0.180},
    "trees": {"tr-8": {"size": 9, "mat": 1.8, "overhead_s": 0.002},
              "2.2.2": {"size": 81, "mat": 2.3, "overhead_s": 0.004}},
}  # fmt: skip


def test_best_measured_tree_break_even_by_hand():
    trees = json.loads(json.dumps(SWEEP["trees"]))
    best = best_measured_tree({1: 0.040, 9: 0.050, 81: 0.180}, trees)
    assert best == "tr-8"
    assert trees["tr-8"]["break_even_mat"] == pytest.approx(0.052 / 0.040)
    assert trees["2.2.2"]["break_even_mat"] == pytest.approx(0.184 / 0.040)
    assert trees["2.2.2"]["predicted_speedup"] == pytest.approx(2.3 / 4.6)
    text = report.sweep_text({**SWEEP, "trees": trees, "best_tree": best, "model": "m",
                              "dtype": "float32", "device": "cpu", "threads": 2})  # fmt: skip
    assert "best tree on this device: tr-8" in text and "q=81: 4.50x" in text
    fig = report.cost_curve_figure({**SWEEP, "trees": trees, "best_tree": best, "model": "m",
                                    "dtype": "float32", "device": "cpu"})  # fmt: skip
    assert list(fig.data[0].x) == [1, 9, 81]


@pytest.fixture
def cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("TRVIZ_CACHE", str(tmp_path))
    return tmp_path


def fake_model(name: str | None, dtype: str = "float32"):
    """What choose_tree reads of a model: its device, dtype and name."""
    import torch

    return SimpleNamespace(
        device=torch.device("cpu"), dtype=getattr(torch, dtype), name_or_path=name
    )


def test_sweep_cache_drives_auto_tree_and_says_so(cache_dir):
    cfg = TRConfig()  # tree="auto"
    static = AUTO_TREES[("cpu", "float32")]
    choice = choose_tree(cfg, fake_model("some/model"))
    assert choice.tree.name == static and choice.source == "table ('cpu', 'float32')"
    path = save_sweep({"best_tree": "tr-32"}, "some/model", "cpu", "float32")
    assert path.parent == cache_dir / "sweeps" and path.name.startswith("model-")
    assert swept_tree("some/model", "cpu", "float32") == ("tr-32", str(path))
    choice = choose_tree(cfg, fake_model("some/model"))
    assert choice.tree.name == "tr-32" and choice.source == f"tree sweep ({path})"
    bf16 = choose_tree(cfg, fake_model("some/model", "bfloat16")).tree.name
    assert bf16 == AUTO_TREES[("cpu", "bfloat16")]
    assert choose_tree(cfg, fake_model("other/model")).tree.name == static
    assert choose_tree(cfg, fake_model(None)).tree.name == static  # no model name: static table
    explicit = choose_tree(TRConfig(tree="tr-8"), fake_model("some/model"))
    assert explicit.tree.name == "tr-8" and explicit.source == "config"
    save_sweep({"best_tree": "not-a-preset"}, "some/model", "cpu", "float32")
    assert choose_tree(cfg, fake_model("some/model")).tree.name == static
    path.write_text("{broken")
    assert load_sweep("some/model", "cpu", "float32") is None


def test_resolve_tree_is_pure_and_adds_the_copy_branch():
    cfg = TRConfig.preset("static")  # copy=5 on a fixed tree
    choice = cfg.resolve_tree("cpu", "float32", swept=("tr-12", "some file"))
    assert choice.base.name == "tr-12" and choice.tree.name == "tr-12+copy5"
    assert choice.tree.size == choice.base.size + 5 and len(choice.chain) == 5
    assert choice.source == "tree sweep (some file)"
    assert cfg.resolve_tree("cpu", "float32").base.name == AUTO_TREES[("cpu", "float32")]
    # the budget: the device's candidate template, no branch (copies join it every step)
    budget = TRConfig.preset("default").resolve_tree("cpu", "float32", swept=("tr-12", "f"))
    assert budget.tree.name == "cand-40" and budget.chain == () and "candidates" in budget.source


def test_sampling_takes_its_own_auto_tree_and_ignores_the_greedy_sweep(cache_dir):
    cfg = TRConfig()  # a static tree
    save_sweep({"best_tree": "tr-32"}, "some/model", "cpu", "bfloat16")
    model = fake_model("some/model", "bfloat16")
    assert choose_tree(cfg, model).tree.name == "tr-32"
    sampled = AUTO_SAMPLING_TREES[("cpu", "bfloat16")]
    assert choose_tree(cfg, model, sampling=True).tree.name == sampled
    assert get_tree(sampled).size < get_tree(AUTO_TREES[("cpu", "bfloat16")]).size
    # no sampling entry: sampling resolves as greedy does
    assert ("cpu", "float32") not in AUTO_SAMPLING_TREES
    static = AUTO_TREES[("cpu", "float32")]
    assert cfg.resolve_tree("cpu", "float32", sampling=True).tree.name == static
    assert (
        TRConfig(tree="tr-12").resolve_tree("cpu", "bfloat16", sampling=True).tree.name == "tr-12"
    )
    assert sweep_key("a/b", "cpu", "float32") != sweep_key("c/b", "cpu", "float32")


def test_forward_cost_and_sweep_on_tiny_model(cache_dir):
    model = make_tiny("llama")
    grid, quiet = forward_cost_grid(model, (1, 4, 9), (16, 32), repeats=2)
    assert grid.lens == (16, 32) and all(s > 0 for row in grid.seconds for s in row)
    assert quiet["samples"] == 12 and quiet["others_cores_mean"] >= 0
    model.name_or_path = "tiny-test-model"
    data = sweep_trees(model, TinyTokenizer(), trees=("chain-4", "tr-8"), prompts=["t5 t6 t7 t5"],
                       warmup=["t3 t4"], max_new_tokens=8, qs=(1, 2), lens=(16,), repeats=1,
                       log=lambda s: None)  # fmt: skip
    # q grid + the tokens per forward the static config verifies: tree + 5-node copy branch
    assert set(data["cost_s"]) == {"1", "2", "10", "14"}
    assert data["trees"]["tr-8"]["size"] == 14 and data["copy"] == 5
    assert data["best_tree"] in ("chain-4", "tr-8")
    for t in data["trees"].values():
        assert t["mat"] >= 1.0 and t["break_even_mat"] > 0 and t["steps"] >= 1
    assert swept_tree("tiny-test-model", "cpu", "float32")[0] == data["best_tree"]
    # the budget prices its trees with the sweep's grid (q x L), overhead fitted from the trees
    cost = choose_cost(model)
    assert cost.source.startswith("tree sweep") and cost.lens == (16, 256)
    json.dumps(data)


def test_cli_parses_and_lists_methods(capsys):
    args = build_parser().parse_args(
        ["bench", "--methods", "ar,tr", "pld", "--per-category", "1", "--start", "cold",
         "--json", "out.json", "--tree", "tr-8", "--k", "6"])  # fmt: skip
    assert args.methods == ["ar,tr", "pld"] and args.start == "cold" and args.k == 6
    args = build_parser().parse_args(["bench", "--list-methods"])
    assert args.func(args) == 0
    out = capsys.readouterr().out
    for name in ("ar", "hf", "pld", "tr", "tr-paper"):
        assert f"\n{name} " in "\n" + out
    with pytest.raises(SystemExit):
        build_parser().parse_args(["bench", "--start", "warm"])
