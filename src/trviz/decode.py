"""The decode loop: prefill, then one Token Recycling step per target forward.

A step reads as the paper does: draft -> forward -> verify -> compact -> update (:func:`tr_step`).
``greedy`` is the honest baseline on the same engine (same cache, same forward function, same
prefill), and ``hf_generate`` wraps ``model.generate`` for comparison. All three return a
:class:`GenerationResult` of the same shape. What a run fixes before its first step (tree,
prompt, matrix, recording) is resolved in :mod:`trviz.run`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from trviz.config import TRConfig, as_config
from trviz.drafter import Drafter, make_drafter
from trviz.errors import ConfigError
from trviz.forward import forward_one, forward_tree, prefill
from trviz.kv import compact, new_cache
from trviz.matrix import Matrix, seed_rows, update, write_winners
from trviz.metrics import PHASES, Stats
from trviz.model import eos_ids
from trviz.plumbing import Clock
from trviz.recording import StepTensors, build_trace, run_meta
from trviz.run import Run, choose_cost, choose_tree, prepare_matrix, start_run
from trviz.sampling import SamplingParams, choose, sampling_params
from trviz.trace import StepRecord
from trviz.tree_attention import mask_kind
from trviz.verify import verify

StepHook = Callable[[StepRecord], None]
Stopping = Callable[[list[int]], int | None]


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
    finish_reason: str  # "eos", "length", or "stop" (ended by generate's ``stopping``)
    method: str
    trace: Any = None  # a trviz.trace.Trace when recorded
    matrix: Matrix | None = None
    config: TRConfig | None = field(default=None, repr=False)

    def __repr__(self) -> str:
        return (
            f"GenerationResult({self.method}, {self.stats!r}, finish={self.finish_reason!r}, "
            f"text={self.text[:60]!r}...)"
        )


# ----- one step ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepContext:
    """What every step of one run shares: the model, how to mask, verify and time, and whether
    to keep the rows read (full recording)."""

    model: Any
    mask_kind: str
    clock: Clock
    snapshot: bool = False
    sampling: SamplingParams | None = None
    generator: torch.Generator | None = None
    host_walk: bool = False


def tr_step(
    ctx: StepContext,
    cache,
    matrix: Matrix,
    drafter: Drafter,
    *,
    root: torch.Tensor,
    prefix_len: int,
) -> StepTensors:
    """One Token Recycling step from committed token ``root`` at cache length ``prefix_len``;
    mutates ``cache``, ``matrix`` and ``drafter`` (its estimates) in place."""
    table, clock = matrix.table, ctx.clock
    t0 = clock()
    # draft: the step's tree from the matrix (+ copies from the context), pruned by the budget
    d = drafter.draft(table, root, prefix_len)
    tokens, tt = d.tokens, d.tt  # [S]
    rows_before = table[tokens.clamp_min(0)] if ctx.snapshot else None  # [S, k], for the trace
    t1 = clock()
    # forward: root + tree in one target forward under tree attention
    logits = forward_tree(ctx.model, cache, tokens, tt, prefix_len, ctx.mask_kind)  # [S, V]
    t2 = clock()
    # verify: deepest node whose whole path matches the model's choice; its choice is the bonus
    v = verify(tokens, logits, tt, ctx.sampling, ctx.generator, ctx.host_walk)
    path = tt.tree.ancestors[v.best]
    t3 = clock()
    # compact: keep the KV entries of root + accepted nodes, contiguous after the prefix
    compact(cache, prefix_len, tt.path(v.best), len(path), path[-1] == len(path) - 1)
    t4 = clock()
    # update: recycle every node's top-k candidates into its token's row; the drafter learns
    candidates = logits.topk(table.shape[1], dim=-1).indices  # [S, k]
    winners = write_winners(tokens, tt.ancestors[v.best], tt.depths)
    update(table, tokens, candidates, winners)
    drafter.learn(d, [v.host_tokens[i] for i in path[1:]] + [v.bonus])
    t5 = clock()
    return StepTensors(
        tokens=tokens,
        argmax=v.choice,
        candidates=candidates,
        winners=winners,
        rows_before=rows_before,
        best=v.best,
        path=path,
        host_tokens=v.host_tokens,
        bonus=v.bonus,
        timings=dict(zip(PHASES, (t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4))),
        lookup_nodes=d.copied,
        tree=tt.tree,
        budget=d.budget,
    )


def _commit(
    tokens: list[int], eos: frozenset[int], budget: int, stopping: Stopping | None = None
) -> tuple[list[int], str | None]:
    """Cut a step's tokens at the remaining budget and at the first EOS (kept), or, with
    ``stopping``, where it says (it replaces the EOS rule; see :func:`generate`)."""
    if stopping is not None:
        tokens = tokens[:budget]
        keep = stopping(tokens)
        if keep is None:
            return tokens, "length" if len(tokens) == budget else None
        if isinstance(keep, bool) or not isinstance(keep, int) or not 1 <= keep <= len(tokens):
            raise ConfigError(f"stopping must return None or 1..{len(tokens)}, got {keep!r}")
        return tokens[:keep], "stop"
    for i, t in enumerate(tokens[:budget]):
        if t in eos:
            return tokens[: i + 1], "eos"
    if len(tokens) >= budget:
        return tokens[:budget], "length"
    return tokens, None


def step_context(model, cfg: TRConfig, run: Run, sampling: SamplingParams | None) -> StepContext:
    """The constants every step of ``run`` shares."""
    return StepContext(
        model=model,
        mask_kind=mask_kind(model),
        clock=run.clock,
        snapshot=run.recorder.full,
        sampling=sampling,
        generator=run.generator,
        host_walk=cfg.host_walk(model.device.type),
    )


def _prefill(model, cache, ids: list[int], matrix: Matrix, seed: bool) -> torch.Tensor:
    """Prefill all prompt tokens but the last (with ``seed``: seed their matrix rows from the
    prompt's logits); returns the last one, the first step's root."""
    prompt_t = torch.tensor(ids, device=model.device)
    logits = prefill(model, cache, prompt_t[:-1], all_logits=seed)
    if logits is not None:
        seed_rows(matrix.table, prompt_t[:-1], logits)
    return prompt_t[-1]


# ----- the loops --------------------------------------------------------------------------------


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
    stopping: Stopping | None = None,
) -> GenerationResult:
    """Decode with Token Recycling; the output equals plain greedy decoding (with a temperature:
    it is distributed exactly as plain sampling).

    tokenizer: may be None when ``prompt`` is token ids: the result then has no text, the trace
        no token strings and a new matrix no vocabulary fingerprint.
    prompt: a string (chat template applied for instruct models unless ``chat=False``), chat
        messages, or token ids.
    config: a :class:`TRConfig`, ``"default"`` or ``"paper"`` (or a dict of fields).
    matrix: the adjacency matrix to start from (hot start); ``None`` starts a fresh one. The
        updated matrix comes back as ``result.matrix``; the one passed in is not modified.
    on_step: called with each step's :class:`~trviz.trace.StepRecord`.
    record: ``"full"`` (trees, rows: what the views need), ``"summary"`` or ``"none"``.
    temperature, top_p, top_k, seed: sample instead (temperature None or 0: greedy); the output
        is distributed exactly as plain sampling (:func:`greedy` with the same keywords). On CPU
        the walk draws once per committed token, in order, as plain sampling does, so the same
        seed gives the same tokens wherever the logits are bit-equal (fp32); on accelerators
        every node draws and the tokens differ. The seed used is in ``trace.meta["sampling"]``.
    stopping: replaces the EOS rule. Called after each step with the tokens it commits (cut to
        the budget; the model's EOS no longer ends the run), it returns None to go on or ``n``
        (1 <= n <= len) to keep the first ``n`` and end the run (finish reason ``"stop"``).
        ``model.generate``'s stopping criteria and streamer run through it (``trviz.hf_entry``).
    """
    cfg = as_config(config)
    sp = sampling_params(temperature, top_p, top_k, seed)
    choice = choose_tree(cfg, model, sampling=sp is not None)
    run = start_run(model, tokenizer, prompt, max_new_tokens, chat=chat, record=record,
                    on_step=on_step, sampling=sp, tree_size=cfg.max_tokens(choice.tree),
                    sync=None)  # fmt: skip
    matrix = prepare_matrix(model, tokenizer, cfg, matrix)
    cost = choose_cost(model)
    drafter = make_drafter(cfg, choice, run.ids, matrix, cost, model.device, run.recorder.full)
    ctx = step_context(model, cfg, run, sp)
    t_start = run.clock()
    cache = new_cache(model)
    root = _prefill(model, cache, run.ids, matrix, cfg.seed_from_prompt)
    prefill_s, phase_s = run.clock() - t_start, dict.fromkeys(PHASES, 0.0)
    stats = Stats(prompt_tokens=len(run.ids), prefill_s=prefill_s, phase_s=phase_s)
    prefix_len, out, finish = len(run.ids) - 1, [], None
    while finish is None:
        st = tr_step(ctx, cache, matrix, drafter, root=root, prefix_len=prefix_len)
        drafted = [st.host_tokens[i] for i in st.path[1:]]
        budget = max_new_tokens - len(out)
        committed, finish = _commit(drafted + [st.bonus], run.eos, budget, stopping)
        out += committed
        drafter.extend(committed)  # the context the matcher copies from
        stats.verified += st.tree.size
        for phase, s in st.timings.items():
            stats.phase_s[phase] += s
        run.recorder.add_step(stats.steps, prefix_len, st.tree, st, committed)
        stats.steps += 1
        prefix_len += len(st.path)
        root = st.argmax[st.best]
    stats.wall_s, stats.new_tokens = run.clock() - t_start, len(out)
    matrix.steps_seen += stats.steps
    meta = run_meta(model, "tr", prompt, matrix.fingerprint, config=cfg.to_dict(),
                    tree=choice.tree.to_dict(), tree_source=choice.source,
                    cost_source=cost.source if cfg.budget else None,
                    record=run.recorder.level, sampling=sp and sp.to_dict())  # fmt: skip
    return _result("tr", tokenizer, run, out, stats, finish, meta, matrix=matrix, config=cfg)


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
    run = start_run(model, tokenizer, prompt, max_new_tokens, chat=chat, record=record,
                    on_step=on_step, sampling=sp)  # fmt: skip
    t_start = run.clock()
    cache = new_cache(model)
    prompt_t = torch.tensor(run.ids, device=model.device)
    prefill(model, cache, prompt_t[:-1])
    stats = Stats(prompt_tokens=len(run.ids), prefill_s=run.clock() - t_start)
    root, out, finish = prompt_t[-1], [], None
    while finish is None:
        nxt = choose(forward_one(model, cache, root)[None], sp, run.generator)[0]
        tok = int(nxt)
        committed, finish = _commit([tok], run.eos, max_new_tokens - len(out))
        out += committed
        if run.recorder.records is not None:
            cache_len = len(run.ids) - 1 + stats.steps
            rec = StepRecord(stats.steps, int(root), cache_len, (), tok, tuple(committed), {})
            run.recorder.add(rec)
        stats.steps += 1
        root = nxt
    stats.wall_s, stats.new_tokens = run.clock() - t_start, len(out)
    meta = run_meta(model, "greedy", prompt, "", record=run.recorder.level,
                    sampling=sp and sp.to_dict())  # fmt: skip
    return _result("greedy", tokenizer, run, out, stats, finish, meta)


def _result(
    method: str,
    tokenizer,
    run: Run,
    out: list[int],
    stats: Stats,
    finish: str,
    meta: dict[str, Any],
    **extra: Any,
) -> GenerationResult:
    text = tokenizer.decode(out, skip_special_tokens=True) if tokenizer is not None else ""
    records = run.recorder.records
    trace = None
    if records is not None:
        trace = build_trace(tokenizer, meta, records, run.ids, out, text, finish, stats)
    return GenerationResult(out, text, stats, run.ids, finish, method, trace=trace, **extra)


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
    run = start_run(model, tokenizer, prompt, max_new_tokens, chat=chat, record="none",
                    on_step=None, sampling=None)  # fmt: skip
    eos = sorted(eos_ids(model, tokenizer))
    t_start = run.clock()
    input_ids = torch.tensor([run.ids], device=model.device)
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
    wall = run.clock() - t_start
    out, finish = _commit(seq[0, len(run.ids) :].tolist(), frozenset(eos), max_new_tokens)
    stats = Stats(new_tokens=len(out), steps=0, prompt_tokens=len(run.ids), wall_s=wall)
    return _result("hf", tokenizer, run, out, stats, finish or "length", {})
