"""The decode loop: prefill, then one Token Recycling step per target forward.

A step reads as the paper does: draft -> forward -> verify -> compact -> update. ``greedy`` is the
honest baseline on the same engine (same cache, same forward function, same prefill), and
``hf_generate`` wraps ``model.generate`` for comparison. All three return a
:class:`GenerationResult` of the same shape.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from trviz.config import TRConfig, as_config
from trviz.cost import device_cost
from trviz.drafter import Drafter, make_drafter
from trviz.errors import ConfigError, PromptError
from trviz.forward import forward_one, forward_tree, prefill
from trviz.kv import compact, new_cache
from trviz.matrix import (
    Matrix,
    check_matrix,
    new_matrix,
    update,
    write_winners,
)
from trviz.metrics import PHASES, Stats
from trviz.model import context_window, encode_prompt, eos_ids, tokenizer_fingerprint
from trviz.plumbing import Clock, dtype_name
from trviz.recording import StepTensors, check_level, step_record, trace_token_ids
from trviz.sampling import (
    SamplingParams,
    choose,
    first_siblings,
    make_generator,
    sampling_params,
    walk,
)
from trviz.trace import StepRecord, Trace
from trviz.tree_attention import TreeTensors, mask_kind
from trviz.verify import accept

StepHook = Callable[[StepRecord], None]


@dataclass
class GenerationResult:
    """Output of :func:`generate`, :func:`greedy` or :func:`hf_generate`.

    ``tokens`` are the new token ids (an EOS that ended the run included), ``matrix`` the updated
    adjacency matrix (pass it back in for a hot start), ``trace`` the recorded steps.
    """

    tokens: list[int]
    text: str
    stats: Stats
    prompt_ids: list[int]
    finish_reason: str  # "eos" or "length"
    method: str
    trace: Trace | None = None
    matrix: Matrix | None = None
    config: TRConfig | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"GenerationResult({self.method}, {self.stats!r}, finish={self.finish_reason!r}, "
            f"text={self.text[:60]!r}...)"
        )


# ----- one step ---------------------------------------------------------------------------------


def tr_step(
    model,
    cache,
    matrix: Matrix,
    drafter: Drafter,
    root: torch.Tensor,
    prefix_len: int,
    kind: str,
    snapshot: bool,
    clock: Clock,
    sampling: SamplingParams | None = None,
    generator: torch.Generator | None = None,
) -> StepTensors:
    """One Token Recycling step; mutates ``cache``, ``matrix`` and ``drafter`` in place.

    ``sampling``: draw from the nodes' processed distributions instead of taking the argmax
    (``trviz.sampling``: on the host walk, only at the nodes it visits); verification follows the
    samples, which keeps sampling exact.
    """
    table = matrix.table
    t0 = clock()
    # draft: the step's tree from the matrix (+ copies from the context), pruned by the budget
    d = drafter.draft(table, root, prefix_len)
    tokens, tt = d.tokens, d.tt  # [S]
    rows_before = table[tokens.clamp_min(0)] if snapshot else None  # [S, k], for the trace
    t1 = clock()
    # forward: root + tree in one target forward under tree attention
    logits = forward_tree(model, cache, tokens, tt, prefix_len, kind)  # [S, V]
    t2 = clock()
    # verify: deepest node whose whole path matches the model's argmax; its argmax is the bonus
    # (sampling: the model's samples stand in for the argmax; only a first sibling is followed)
    argmax, best, bonus, host_tokens = _verify(tokens, logits, tt, sampling, generator)
    path = tt.tree.ancestors[best]
    t3 = clock()
    # compact: keep the KV entries of root + accepted nodes, contiguous after the prefix
    compact(cache, prefix_len, tt.path(best), len(path), path[-1] == len(path) - 1)
    t4 = clock()
    # update: recycle every node's top-k candidates into its token's row; the drafter learns
    candidates = logits.topk(table.shape[1], dim=-1).indices  # [S, k]
    winners = write_winners(tokens, tt.ancestors[best], tt.depths)
    update(table, tokens, candidates, winners)
    drafter.learn(d, [host_tokens[i] for i in path[1:]] + [bonus])
    t5 = clock()
    timings = dict(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4)))
    return StepTensors(
        tokens,
        argmax,
        candidates,
        winners,
        rows_before,
        best,
        path,
        host_tokens,
        bonus,
        timings,
        d.copied,
        tt.tree,
        d.budget,
    )


# Devices where sampling walks the tree on the host, drawing only at the nodes it visits; others
# draw at every node in parallel (no host sync). Same distribution either way (trviz.sampling).
HOST_WALK_DEVICES = ("cpu",)


def _verify(
    tokens: torch.Tensor,
    logits: torch.Tensor,
    tt: TreeTensors,
    sampling: SamplingParams | None,
    generator: torch.Generator | None,
) -> tuple[torch.Tensor, int, int, list[int]]:
    """(per-node choice ``[S]``, best node, bonus, host tokens); one host sync off the host walk."""
    if sampling is not None and logits.device.type in HOST_WALK_DEVICES:
        host_tokens = tokens.tolist()
        best, samples = walk(host_tokens, logits, tt.tree.children, sampling, generator)
        return torch.tensor(samples, device=tokens.device), best, samples[best], host_tokens
    argmax = choose(logits, sampling, generator)  # [S]
    followable = tokens if sampling is None else first_siblings(tokens, tt.parents_ext)
    best_t = accept(followable, argmax, tt)
    host = torch.cat([best_t.view(1), argmax[best_t].view(1), tokens]).tolist()  # one sync
    return argmax, host[0], host[1], host[2:]


def seed_matrix(table: torch.Tensor, ids: torch.Tensor, logits: torch.Tensor) -> None:
    """Write the rows of the prompt's tokens from their prefill logits (latest occurrence wins)."""
    candidates = logits.topk(table.shape[1], dim=-1).indices
    positions = torch.arange(ids.shape[0], device=ids.device)
    latest = write_winners(ids, torch.ones_like(ids, dtype=torch.bool), positions)
    update(table, ids, candidates, latest)


def _commit(tokens: list[int], eos: frozenset[int], budget: int) -> tuple[list[int], str | None]:
    """Cut a step's tokens at the first EOS (kept) and at the remaining budget."""
    for i, t in enumerate(tokens[:budget]):
        if t in eos:
            return tokens[: i + 1], "eos"
    if len(tokens) >= budget:
        return tokens[:budget], "length"
    return tokens, None


# ----- the loops --------------------------------------------------------------------------------


def _prepare(
    model, tokenizer, prompt: Any, max_new_tokens: int, chat: bool | None, tree_size: int
) -> list[int]:
    if not isinstance(max_new_tokens, int) or max_new_tokens <= 0:
        raise ConfigError(f"max_new_tokens must be a positive int, got {max_new_tokens!r}")
    ids = encode_prompt(tokenizer, prompt, chat)
    window = context_window(model)
    if window is not None and len(ids) + max_new_tokens + tree_size > window:
        raise PromptError(
            f"prompt ({len(ids)} tokens) + max_new_tokens ({max_new_tokens}) + tree ({tree_size}) "
            f"exceeds the model's context window of {window} tokens; shorten the prompt"
        )
    return ids


def _finish(
    method: str,
    tokenizer,
    ids: list[int],
    out: list[int],
    stats: Stats,
    finish: str,
    records: list[StepRecord] | None,
    meta: dict[str, Any],
    **extra: Any,
) -> GenerationResult:
    text = tokenizer.decode(out, skip_special_tokens=True)
    trace = None
    if records is not None:
        known = sorted(trace_token_ids(ids, out, records))
        strings = tokenizer.batch_decode([[i] for i in known])
        meta.update(
            prompt_ids=ids,
            token_strings=dict(zip(known, strings)),
            new_tokens=out,
            text=text,
            finish_reason=finish,
            stats=stats.to_dict(),
        )
        trace = Trace(meta, records)
    return GenerationResult(out, text, stats, ids, finish, method, trace=trace, **extra)


def _run_meta(model, method: str, prompt: Any, fingerprint: str, **more: Any) -> dict[str, Any]:
    return {
        "method": method,
        "model": getattr(model.config, "_name_or_path", "") or type(model).__name__,
        "vocab_fingerprint": fingerprint,
        "device": str(model.device),
        "dtype": dtype_name(model.dtype),
        "prompt": prompt if isinstance(prompt, str) else None,
        **more,
    }


@torch.inference_mode()
def generate(
    model,
    tokenizer,
    prompt: Any,
    max_new_tokens: int = 128,
    config: TRConfig | str | dict | None = None,
    matrix: Matrix | None = None,
    on_step: StepHook | None = None,
    record: str = "full",
    chat: bool | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    seed: int | None = None,
) -> GenerationResult:
    """Decode with Token Recycling; the output equals plain greedy decoding (with a temperature:
    it is distributed exactly as plain sampling).

    prompt: a string (chat template applied for instruct models), chat messages, or token ids.
    config: a :class:`TRConfig`, ``"default"`` or ``"paper"``.
    matrix: the adjacency matrix to start from (hot start); ``None`` starts a fresh one. The
        updated matrix comes back as ``result.matrix``; the one passed in is not modified.
    on_step: called with each step's :class:`~trviz.trace.StepRecord`.
    record: ``"full"`` (trees, rows: what the views need), ``"summary"`` or ``"none"``.
    temperature, top_p, top_k, seed: sample instead (temperature None or 0: greedy); the output
        is distributed exactly as plain sampling (:func:`greedy` with the same keywords). On CPU
        the walk draws once per committed token, in order, as plain sampling does, so the same
        seed gives the same tokens wherever the logits are bit-equal (fp32); on accelerators
        every node draws and the tokens differ. The seed used is in ``trace.meta["sampling"]``.
    """
    cfg = as_config(config)
    sp = sampling_params(temperature, top_p, top_k, seed)
    level = check_level(record)
    if on_step is not None and level == "none":
        level = "summary"
    device = model.device
    tree, chain = cfg.step_tree(model, sampling=sp is not None)
    most = tree.size + (cfg.copy or cfg.lookup) * cfg.copy_branches if cfg.budget else tree.size
    ids = _prepare(model, tokenizer, prompt, max_new_tokens, chat, most)
    vocab = model.get_output_embeddings().weight.shape[0]
    fp = tokenizer_fingerprint(tokenizer, vocab)
    if matrix is None:
        matrix = new_matrix(
            vocab, cfg.k, fill=-1 if cfg.dedupe else 0, device=device, fingerprint=fp
        )
    else:
        check_matrix(matrix, vocab, cfg.k, fp)
        matrix = matrix.clone()
    for key, value in (
        ("model", model.name_or_path or type(model).__name__),
        ("k", cfg.k),
        ("created", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())),
    ):
        matrix.meta.setdefault(key, value)  # what a saved matrix says about where it came from
    table = matrix.table
    kind = mask_kind(model)
    clock = Clock(device, sync=level != "none")
    eos = eos_ids(model, tokenizer)
    records: list[StepRecord] | None = [] if level != "none" else None
    generator = make_generator(sp, device)

    t_start = clock()
    cache = new_cache(model)
    prompt_t = torch.tensor(ids, device=device)
    logits = prefill(model, cache, prompt_t[:-1], all_logits=cfg.seed_from_prompt)
    if logits is not None:
        seed_matrix(table, prompt_t[:-1], logits)
    stats = Stats(
        prompt_tokens=len(ids), prefill_s=clock() - t_start, phase_s=dict.fromkeys(PHASES, 0.0)
    )
    cost = device_cost(model.name_or_path, device.type, dtype_name(model.dtype))
    drafter = make_drafter(cfg, tree, chain, ids, matrix, cost, device, full=level == "full")
    root, prefix_len, out, finish = prompt_t[-1], len(ids) - 1, [], None
    while finish is None:
        st = tr_step(
            model, cache, matrix, drafter, root, prefix_len, kind, level == "full", clock, sp,
            generator,
        )  # fmt: skip
        committed, finish = _commit(
            [st.host_tokens[i] for i in st.path[1:]] + [st.bonus], eos, max_new_tokens - len(out)
        )
        out += committed
        drafter.extend(committed)
        stats.verified += st.tree.size
        for phase, s in st.timings.items():
            stats.phase_s[phase] += s
        if records is not None:
            rec = step_record(level, stats.steps, prefix_len, st.tree, st, committed)
            records.append(rec)
            if on_step is not None:
                on_step(rec)
        stats.steps += 1
        prefix_len += len(st.path)
        root = st.argmax[st.best]
    stats.wall_s = clock() - t_start
    stats.new_tokens = len(out)
    matrix.steps_seen += stats.steps
    meta = _run_meta(
        model,
        "tr",
        prompt,
        fp,
        config=cfg.to_dict(),
        tree=tree.to_dict(),
        record=level,
        sampling=sp and sp.to_dict(),
    )
    return _finish(
        "tr", tokenizer, ids, out, stats, finish, records, meta, matrix=matrix, config=cfg
    )


@torch.inference_mode()
def greedy(
    model,
    tokenizer,
    prompt: Any,
    max_new_tokens: int = 128,
    on_step: StepHook | None = None,
    record: str = "summary",
    chat: bool | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    top_k: int | None = None,
    seed: int | None = None,
) -> GenerationResult:
    """Plain greedy decoding on trviz's engine: one token per forward (the honest baseline).

    With ``temperature`` > 0: plain sampling (temperature, top-k, top-p; ``seed``), the baseline
    for :func:`generate`'s sampling.
    """
    sp = sampling_params(temperature, top_p, top_k, seed)
    level = check_level(record)
    if on_step is not None and level == "none":
        level = "summary"
    ids = _prepare(model, tokenizer, prompt, max_new_tokens, chat, 1)
    device = model.device
    clock = Clock(device, sync=True)
    eos = eos_ids(model, tokenizer)
    records: list[StepRecord] | None = [] if level != "none" else None
    generator = make_generator(sp, device)

    t_start = clock()
    cache = new_cache(model)
    prompt_t = torch.tensor(ids, device=device)
    prefill(model, cache, prompt_t[:-1])
    stats = Stats(prompt_tokens=len(ids), prefill_s=clock() - t_start)
    root, out, finish = prompt_t[-1], [], None
    while finish is None:
        nxt = choose(forward_one(model, cache, root)[None], sp, generator)[0]
        tok = int(nxt)
        committed, finish = _commit([tok], eos, max_new_tokens - len(out))
        out += committed
        if records is not None:
            rec = StepRecord(
                stats.steps, int(root), len(ids) - 1 + stats.steps, (), tok, tuple(committed), {}
            )
            records.append(rec)
            if on_step is not None:
                on_step(rec)
        stats.steps += 1
        root = nxt
    stats.wall_s = clock() - t_start
    stats.new_tokens = len(out)
    meta = _run_meta(model, "greedy", prompt, "", record=level, sampling=sp and sp.to_dict())
    return _finish("greedy", tokenizer, ids, out, stats, finish, records, meta)


@torch.inference_mode()
def hf_generate(
    model,
    tokenizer,
    prompt: Any,
    max_new_tokens: int = 128,
    chat: bool | None = None,
    **generate_kwargs: Any,
) -> GenerationResult:
    """Hugging Face ``model.generate`` greedy search, timed and shaped like :func:`greedy`.

    Extra keyword arguments go to ``generate`` (e.g. ``prompt_lookup_num_tokens=10``).
    """
    ids = _prepare(model, tokenizer, prompt, max_new_tokens, chat, 1)
    clock = Clock(model.device, sync=True)
    eos = sorted(eos_ids(model, tokenizer))
    t_start = clock()
    input_ids = torch.tensor([ids], device=model.device)
    seq = model.generate(
        input_ids=input_ids,
        attention_mask=torch.ones_like(input_ids),
        max_new_tokens=max_new_tokens,
        do_sample=False,
        temperature=None,
        top_p=None,
        top_k=None,
        eos_token_id=eos or None,
        pad_token_id=eos[0] if eos else None,
        **generate_kwargs,
    )
    wall = clock() - t_start
    out = seq[0, len(ids) :].tolist()
    out, finish = _commit(out, frozenset(eos), max_new_tokens)
    stats = Stats(new_tokens=len(out), steps=0, prompt_tokens=len(ids), wall_s=wall)
    return _finish("hf", tokenizer, ids, out, stats, finish or "length", None, {})
