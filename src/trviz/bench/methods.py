"""Named decoding methods the benchmark compares: a small registry.

A method is a callable ``fn(model, tokenizer, prompt, max_new_tokens, state) -> GenerationResult``
where ``prompt`` is a string or a list of chat messages and ``state`` is the method's own
:class:`MethodState` (start mode, tree/k overrides, the matrix carried across prompts).
Registering one is a one-liner::

    from trviz.bench.methods import register_method, tr_method
    register_method("tr-16", tr_method("default", tree="tr-16"), "TR, default config, 16-node tree")

Built-in methods:

- ``ar``: plain greedy (autoregressive) decoding on trviz's engine, one token per forward; the
  baseline every speedup is measured against and every output is checked against.
- ``hf``: Hugging Face ``model.generate`` greedy search.
- ``pld``: Hugging Face prompt lookup decoding with the original method's settings (3-gram match,
  10 draft tokens: ``prompt_lookup_num_tokens=10, max_matching_ngram_size=3``).
- ``tr``: Token Recycling, the default configuration (device-sized tree, sibling de-duplication);
  ``--tree`` and ``--k`` override its tree and k.
- ``tr-paper``: Token Recycling in the paper's configuration (80-node "2.2.2" tree, k=8, no
  de-duplication); never overridden.
- ``tr-hf``: ``tr`` run through ``model.generate(custom_generate=trviz.custom_generate)``: the same
  decoder, so its speed against ``tr`` is the entry's overhead (not in the default list).

TR methods honour ``state.start``: ``hot`` carries one matrix across prompts (the runner passes
``result.matrix`` back in), ``cold`` starts every prompt from a fresh matrix, ``seeded`` starts
fresh and seeds the prompt's rows from the prefill logits (``seed_from_prompt=True``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from trviz.config import TRConfig
from trviz.errors import ConfigError
from trviz.trees import Tree, get_tree

START_MODES = ("hot", "cold", "seeded")
DEFAULT_METHODS = ("ar", "hf", "pld", "tr", "tr-paper")  # what `trviz bench` compares


@dataclass
class MethodState:
    """What a method may carry from one prompt to the next (one state per method per run)."""

    start: str = "hot"
    tree: Any = None  # override for methods built with tr_method(..., overridable=True)
    k: int | None = None
    matrix: Any = None  # the adjacency matrix carried across prompts (hot start)
    extra: dict[str, Any] = field(default_factory=dict)  # free room for registered methods

    def __post_init__(self) -> None:
        if self.start not in START_MODES:
            raise ConfigError(f"start must be one of {START_MODES}, got {self.start!r}")


MethodFn = Callable[[Any, Any, Any, int, MethodState], Any]


@dataclass(frozen=True)
class Method:
    """A named method: ``fn`` decodes, ``describe(model, state)`` says how (for the report)."""

    name: str
    fn: MethodFn
    description: str
    describe: Callable[[Any, MethodState], dict[str, Any]] | None = None


METHODS: dict[str, Method] = {}


def register_method(
    name: str,
    fn: MethodFn,
    description: str,
    describe: Callable[[Any, MethodState], dict[str, Any]] | None = None,
) -> Method:
    """Add (or replace) a named method; ``fn`` may also carry ``fn.describe``."""
    method = Method(name, fn, description, describe or getattr(fn, "describe", None))
    METHODS[name] = method
    return method


def get_method(name: str) -> Method:
    if name not in METHODS:
        raise ConfigError(f"unknown method {name!r}; registered: {', '.join(METHODS)}")
    return METHODS[name]


# ----- the built-in methods ---------------------------------------------------------------------


def ar(model, tokenizer, prompt: Any, max_new_tokens: int, state: MethodState):
    from trviz.decode import greedy

    return greedy(model, tokenizer, prompt, max_new_tokens, record="none")


def hf(model, tokenizer, prompt: Any, max_new_tokens: int, state: MethodState):
    from trviz.decode import hf_generate

    return hf_generate(model, tokenizer, prompt, max_new_tokens)


def pld(model, tokenizer, prompt: Any, max_new_tokens: int, state: MethodState):
    from trviz.decode import hf_generate

    return hf_generate(
        model,
        tokenizer,
        prompt,
        max_new_tokens,
        prompt_lookup_num_tokens=10,
        max_matching_ngram_size=3,
    )


def tr_method(
    preset: str,
    overridable: bool = False,
    size_of: str | None = None,
    via_model_generate: bool = False,
    **fields: Any,
) -> MethodFn:
    """A Token Recycling method from a config preset plus fixed ``fields``; with
    ``overridable`` the state's ``tree``/``k`` (``--tree``, ``--k``) replace the preset's.
    ``via_model_generate`` runs it through ``model.generate`` (:func:`generate_via_hf`).

    ``size_of="static"`` gives the method a tree shaped from ``DEFAULT_RATES`` with as many
    tokens per forward as that preset verifies on this model/device/dtype (copy branch
    included), or, with the budget on, a fixed ``budget_nodes`` of that size: the drafter
    ablations compare drafters at the same verification cost.
    """

    def config(model, state: MethodState) -> TRConfig:
        changes = dict(fields)
        if size_of is not None and fields.get("budget", TRConfig.preset(preset).budget):
            changes["budget_nodes"] = _reference_tree(model, size_of).n_nodes
        elif size_of is not None:
            changes["tree"] = get_tree(f"auto-{_reference_tree(model, size_of).n_nodes}")
        if overridable and state.tree is not None:
            changes["tree"] = state.tree
        if overridable and state.k is not None:
            changes["k"] = state.k
        if state.start == "seeded":
            changes["seed_from_prompt"] = True
        return TRConfig.preset(preset, **changes)

    def fn(model, tokenizer, prompt: Any, max_new_tokens: int, state: MethodState):
        from trviz.decode import generate

        matrix = state.matrix if state.start == "hot" else None
        decode = generate_via_hf if via_model_generate else generate
        return decode(
            model,
            tokenizer,
            prompt,
            max_new_tokens,
            config=config(model, state),
            matrix=matrix,
            record="none",
        )

    def describe(model, state: MethodState) -> dict[str, Any]:
        from trviz.run import choose_tree

        cfg = config(model, state)
        choice = choose_tree(cfg, model)  # named "<tree>+copy<n>" / "+lookup<n>" with a branch
        if cfg.budget and not cfg.budget_nodes:  # sized per step: the run measures the mean
            tree, size = f"budget over {choice.tree.name} + copies", None
        elif cfg.budget:
            tree, size = (
                f"best {cfg.budget_nodes} of {choice.tree.name} + copies",
                cfg.budget_nodes + 1,
            )
        else:
            tree, size = choice.tree.name, choice.tree.size
        return {
            "config": cfg.to_dict() | {"tree": choice.base.name},
            "tree": tree,
            "tree_size": size,
            "tree_source": choice.source,
            "start": state.start,
        }

    fn.describe = describe  # type: ignore[attr-defined]
    return fn


def generate_via_hf(model, tokenizer, prompt: Any, max_new_tokens: int, **options: Any):
    """:func:`trviz.generate`'s call made through ``model.generate(custom_generate=...)``, with
    the EOS ids the other methods stop at; returns the run's ``GenerationResult``."""
    import torch

    from trviz.hf_entry import custom_generate
    from trviz.model import encode_prompt, eos_ids

    ids = torch.tensor([encode_prompt(tokenizer, prompt)], device=model.device)
    eos = sorted(eos_ids(model, tokenizer))
    out = model.generate(
        ids,
        custom_generate=custom_generate,
        max_new_tokens=max_new_tokens,
        do_sample=False,
        eos_token_id=eos or None,
        pad_token_id=eos[0] if eos else None,
        return_dict_in_generate=True,
        **options,
    )
    return out.trviz


def _reference_tree(model, preset: str) -> Tree:
    """The tree ``preset`` verifies on ``model`` (copy branch included)."""
    from trviz.run import choose_tree

    return choose_tree(TRConfig.preset(preset), model).tree


register_method("ar", ar, "plain greedy decoding on trviz's engine (the baseline)")
register_method("hf", hf, "Hugging Face generate, greedy search")
register_method("pld", pld, "Hugging Face prompt lookup decoding (3-gram match, 10 draft tokens)")
register_method(
    "tr",
    tr_method("default", overridable=True),
    "Token Recycling, default config (per-step budget, longest-match copying, de-duplication)",
)
register_method(
    "tr-paper",
    tr_method("paper"),
    "Token Recycling, the paper's config (80-node 2.2.2 tree, k=8, no de-dup)",
)
register_method(
    "tr-hf",
    tr_method("default", overridable=True, via_model_generate=True),
    "tr through model.generate(custom_generate=trviz.custom_generate): the entry's overhead",
)

# Drafter ablations: each of the default config's drafter options against the paper's drafter.
# Static rows and "best N" rows verify as many tokens per forward as `tr-static` (the default's
# drafter on the device's fixed tree with a 5-node copy branch: 14 on a CPU in fp32), so a MAT
# gain is not bought with a bigger tree; budget rows size each step by cost. Not in the default
# method list (docs/benchmarks.md has the command).
register_method(
    "tr-paper-dedupe",
    tr_method("paper", dedupe=True),
    "the paper's config plus de-duplication (unwritten rows never drafted); 81 tokens/forward",
)
register_method(
    "tr-paper-lookup",
    tr_method("paper", dedupe=True, lookup=5),
    "the paper's tree with de-duplication and a 5-node prompt-lookup branch in its last-rank slot",
)
register_method(
    "tr-paper-small",
    tr_method("paper", size_of="static"),
    "the paper's drafter (zero fill, no de-dup, no copies) on a rate-shaped tree as large as "
    "tr-static's (the floor)",
)
register_method(
    "tr-nocopy",
    tr_method("static", size_of="static", copy=0),
    "de-duplication, no copies, on a rate-shaped tree as large as tr-static's",
)
register_method(
    "tr-lookup",
    tr_method("static", copy=0, lookup=5),
    "static tree + a 5-node n-gram prompt-lookup branch (latest match of the last 3..1 tokens: "
    "the previous default)",
)
register_method(
    "tr-static",
    tr_method("static"),
    "static tree + a 5-node longest-match copy branch (the default's drafter, no budget)",
)
register_method(
    "tr-select-lookup",
    tr_method("default", size_of="static", copy=0, lookup=32),
    "per-step choice of the best nodes, as many as tr-static verifies, n-gram lookup copies",
)
register_method(
    "tr-select",
    tr_method("default", size_of="static"),
    "per-step choice of the best nodes, as many as tr-static verifies, longest-match copies",
)
register_method(
    "tr-budget-lookup",
    tr_method("default", copy=0, lookup=32),
    "the per-step budget (sized by cost) over n-gram lookup copies instead of longest-match ones",
)
ABLATIONS = (
    "tr-paper-small", "tr-nocopy", "tr-lookup", "tr-static", "tr-select-lookup", "tr-select",
    "tr-budget-lookup", "tr-paper", "tr-paper-dedupe", "tr-paper-lookup",
)  # fmt: skip
