"""The module map cannot rot: every module imports only from its own layer or below, and the
bottom layer needs nothing beyond the standard library (a saved trace opens without torch)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[1] / "src" / "trviz"

# Bottom to top (docs/architecture.md). A module may import from its layer or any layer below.
LAYERS: dict[str, int] = {
    # 0: stdlib only
    "errors": 0, "plumbing": 0, "trees": 0, "config": 0, "trace": 0, "metrics": 0, "text": 0,
    "lookup": 0, "scheme": 0, "describe": 0, "recycling": 0, "acceptance_stats": 0, "checks": 0,
    "trace_schema": 0, "acceptance": 0, "cost": 0, "budget": 0,
    # 1: torch
    "matrix": 1, "tree_attention": 1, "sampling": 1, "verify": 1, "drafter": 1,
    # 2: the transformers adapter
    "model": 2, "model_cache": 2, "forward": 2, "kv": 2, "sweep_cache": 2,
    # 3: the loop
    "recording": 3, "run": 3, "decode": 3,
    # 4: views, widgets, sharing, the benchmark, the model.generate entry
    "views": 4, "animation": 4, "export": 4, "widgets": 4, "bench": 4, "hf_entry": 4,
    "hub_repo": 4,  # the shipped custom_generate folder (trviz.custom_generate_dir())
    # 5: the command line
    "commands": 5, "__main__": 5,
}  # fmt: skip
THIRD_PARTY_HEAVY = ("torch", "transformers", "plotly", "networkx", "ipywidgets", "numpy")


def modules() -> list[tuple[str, Path]]:
    out = []
    for path in sorted(SRC.rglob("*.py")):
        rel = path.relative_to(SRC).with_suffix("")
        name = ".".join(rel.parts)
        if name != "__init__":
            out.append((name, path))
    return out


def imported(path: Path, at_import: bool = False) -> set[str]:
    """Every module name ``path`` imports, inside functions too unless ``at_import`` (then only
    what importing the module itself runs)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    nodes = tree.body if at_import else ast.walk(tree)
    names: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.Import):
            names.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def layer_of(module: str) -> int:
    top = module.split(".")[0]
    if top not in LAYERS:
        raise AssertionError(f"trviz.{module} has no layer: add it to LAYERS and the docs")
    return LAYERS[top]


@pytest.mark.parametrize("name, path", modules(), ids=[m for m, _ in modules()])
def test_imports_go_down_the_layers(name, path):
    mine = layer_of(name)
    for target in imported(path):
        if target == "trviz" or not target.startswith("trviz."):
            continue
        theirs = layer_of(target.removeprefix("trviz."))
        assert theirs <= mine, f"trviz.{name} (layer {mine}) imports {target} (layer {theirs})"


@pytest.mark.parametrize(
    "name, path", [(m, p) for m, p in modules() if LAYERS.get(m.split(".")[0]) == 0]
)
def test_bottom_layer_is_stdlib_only(name, path):
    heavy = {t for t in imported(path, at_import=True) if t.split(".")[0] in THIRD_PARTY_HEAVY}
    assert not heavy, f"trviz.{name} is in the stdlib-only layer but imports {sorted(heavy)}"


def test_the_layer_check_catches_an_upward_import(tmp_path):
    bad = tmp_path / "bad.py"
    bad.write_text("from trviz.decode import generate\nimport torch\n")
    assert {"trviz.decode", "torch"} <= imported(bad, at_import=True)
    assert layer_of("decode") > layer_of("trace")


MAX_FUNCTION_LINES = 80  # STYLE.md: a function fits on one screen


def long_functions(path: Path, limit: int = MAX_FUNCTION_LINES) -> list[str]:
    """``name (lines)`` of every function in ``path`` longer than ``limit`` lines."""
    tree = ast.parse(path.read_text())
    return [
        f"{node.name} ({node.end_lineno - node.lineno + 1} lines)"
        for node in ast.walk(tree)
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        and node.end_lineno - node.lineno + 1 > limit
    ]


@pytest.mark.parametrize("name, path", modules(), ids=[m for m, _ in modules()])
def test_no_function_is_longer_than_a_screen(name, path):
    assert not long_functions(path), f"trviz.{name}: split {', '.join(long_functions(path))}"


def test_the_length_check_catches_a_long_function(tmp_path):
    body = "\n".join(f"    x{i} = {i}" for i in range(MAX_FUNCTION_LINES))
    long = tmp_path / "long.py"
    long.write_text(f"def f():\n{body}\n")
    assert long_functions(long) == [f"f ({MAX_FUNCTION_LINES + 1} lines)"]
