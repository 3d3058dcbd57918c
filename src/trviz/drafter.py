"""Drafting one step's tree, in two verbs: ``draft`` the tree to verify, ``learn`` from the step.

Two drafters share the verbs (the decode step calls them the same way):

- :class:`StaticDrafter`: one tree every step, the paper's way. The matrix fills the template
  breadth-first (one gather per depth); with a copy branch (``TRConfig.copy`` or ``lookup``) the
  matcher's continuation replaces that branch's matrix drafts.
- :class:`BudgetDrafter`: a new tree every step (``TRConfig.budget``). The matrix fills a larger
  candidate template, the matcher proposes copied continuations, and :mod:`trviz.budget` keeps
  the candidates whose expected tokens pay for their cost at the current context length
  (:mod:`trviz.cost`), priced by running acceptance estimates (:mod:`trviz.acceptance`) that
  ``learn`` updates from every step.

The context the matcher copies from grows with :meth:`extend` (the loop calls it with each
step's committed tokens); it lives as long as the call and is freed with it.
"""

from __future__ import annotations

from dataclasses import replace
from typing import NamedTuple

import torch

from trviz.acceptance import Acceptance
from trviz.budget import (
    Candidates,
    Selection,
    TemplateClasses,
    candidates,
    choose,
    pruned,
    score,
    verified_tree,
)
from trviz.config import TRConfig, TreeChoice
from trviz.cost import CostModel
from trviz.lookup import NO_COPIES, NgramIndex, SuffixAutomaton
from trviz.matrix import Matrix, draft
from trviz.trace import Budget
from trviz.tree_attention import TreeTensors

Matcher = SuffixAutomaton | NgramIndex
COST_REFRESH = 16  # context tokens between two reads of the cost curve


class StepDraft(NamedTuple):
    """One step's drafted tree: ``tokens [S]`` (root at 0, -1 for an empty slot), the tree on
    the device, the nodes carrying copied tokens, and the budget's decision (None: static)."""

    tokens: torch.Tensor
    tt: TreeTensors
    copied: tuple[int, ...]
    budget: Budget | None = None
    state: object = None  # what ``learn`` needs (the budget's candidate trie)


def make_matcher(prompt_ids: list[int], copy: int, lookup_ngram: int) -> Matcher:
    """The longest-match automaton when ``copy`` is on, else the n-gram index."""
    return SuffixAutomaton(prompt_ids) if copy else NgramIndex(prompt_ids, lookup_ngram)


class StaticDrafter:
    """The same template every step; ``chain`` (node indices, root side first) carries copies."""

    def __init__(self, tt: TreeTensors, chain: tuple[int, ...], matcher: Matcher | None):
        self.tt, self.chain, self.matcher = tt, chain, matcher
        self._chain_t = torch.tensor(chain, dtype=torch.long, device=tt.parents.device)

    def draft(self, table: torch.Tensor, root: torch.Tensor, prefix_len: int) -> StepDraft:
        tt = self.tt
        tokens = draft(table, root, tt.parents, tt.ranks, tt.tree.layers)  # [S]
        copied: list[int] = []
        if self.matcher is not None:
            found = self.matcher.copies(len(self.chain))
            copied = found.chains[0] if found.chains else []
        if copied:  # the chain's nodes past the copy are left empty
            m = len(copied)
            tokens[self._chain_t[:m]] = torch.tensor(
                copied, dtype=tokens.dtype, device=tokens.device
            )
            tokens[self._chain_t[m:]] = -1
        return StepDraft(tokens, tt, self.chain[: len(copied)])

    def learn(self, step: StepDraft, truth: list[int]) -> None:
        """Nothing to learn: the tree is fixed."""

    def extend(self, committed: list[int]) -> None:
        if self.matcher is not None:
            self.matcher.extend(committed)


class BudgetDrafter:
    """Candidates from the matrix and the matcher, pruned per step by expected gain per cost.

    template: the candidate template the matrix fills; ``copy``/``branches``: the longest copied
    chain and how many distinct continuations; ``nodes`` > 0 keeps exactly that many nodes
    (fixed size, for ablations); ``max_tokens`` caps the tokens per forward.
    """

    def __init__(
        self,
        template: TreeTensors,
        matcher: Matcher | None,
        est: Acceptance,
        cost: CostModel,
        copy: int,
        branches: int,
        nodes: int = 0,
        max_tokens: int = 0,
        full: bool = False,
    ):
        self.template, self.matcher, self.est, self.cost = template, matcher, est, cost
        self.classes = TemplateClasses(template.tree, est)
        self.copy, self.branches, self.nodes, self.full = copy, branches, nodes, full
        most = template.size + copy * branches
        self.max_tokens = min(max_tokens, most) if max_tokens else most
        self._costs: list[float] = []
        self._costs_at = -COST_REFRESH
        self.accepted_before = 0  # drafts the previous step accepted: the estimates' regime

    def step_costs(self, context: int) -> list[float]:
        """Step seconds for 1..max_tokens tokens at ``context``, re-read every few tokens."""
        if context - self._costs_at >= COST_REFRESH or context < self._costs_at:
            self._costs = self.cost.step_costs(context, self.max_tokens)
            self._costs_at = context
        return self._costs

    def draft(self, table: torch.Tensor, root: torch.Tensor, prefix_len: int) -> StepDraft:
        tpl = self.template
        drafted = draft(table, root, tpl.parents, tpl.ranks, tpl.tree.layers).tolist()
        found = self.matcher.copies(self.copy, self.branches) if self.matcher else NO_COPIES
        cands = candidates(drafted[0], self.classes, drafted, found, self.est, self.accepted_before)
        costs = self.step_costs(prefix_len + 1)
        sel = choose(cands, costs, self.nodes)
        tree, tokens, copied = verified_tree(cands, sel)
        device = tpl.parents.device
        budget = Budget(
            kept=sel.kept,
            candidates=sel.candidates,
            gain=round(sel.gain, 4),
            cost=round(sel.cost / costs[0], 4),
            match_len=found.match_len,
        )
        if self.full:
            budget = _full_budget(budget, cands, sel)
        return StepDraft(
            torch.tensor(tokens, dtype=torch.long, device=device),
            TreeTensors.build(tree, device),
            copied,
            budget,
            cands,
        )

    def learn(self, step: StepDraft, truth: list[int]) -> None:
        """Score every candidate below the committed path (``truth``: accepted tokens + bonus)."""
        score(step.state, truth, self.est)
        self.accepted_before = len(truth) - 1

    def extend(self, committed: list[int]) -> None:
        if self.matcher is not None:
            self.matcher.extend(committed)


def _full_budget(budget: Budget, cands: Candidates, sel: Selection) -> Budget:
    """Add the per-node figures: P(accepted) of each verified node, and the pruned candidates
    numbered after the verified tree (``size``, ``size + 1``, ...)."""
    left = pruned(cands, sel)
    number = {c: i for i, c in enumerate((*sel.nodes, *left))}
    return replace(
        budget,
        p=tuple(round(cands.p[c], 4) for c in sel.nodes),
        pruned_parents=tuple(number[cands.parents[c]] for c in left),
        pruned_tokens=tuple(cands.tokens[c] for c in left),
        pruned_p=tuple(round(cands.p[c], 4) for c in left),
        pruned_copied=tuple(number[c] for c in left if cands.copied[c]),
    )


Drafter = StaticDrafter | BudgetDrafter


def make_drafter(
    cfg: TRConfig,
    choice: TreeChoice,
    prompt_ids: list[int],
    matrix: Matrix,
    cost: CostModel,
    device: torch.device,
    full: bool = False,
) -> Drafter:
    """The drafter ``cfg`` asks for, on the tree (and copy branch) ``choice`` resolved
    (:func:`trviz.run.choose_tree`); the budget keeps its estimates on ``matrix`` (hot start).
    ``full``: record the budget's per-node figures."""
    tt = TreeTensors.build(choice.tree, device)
    length = cfg.copy or cfg.lookup
    matcher = make_matcher(prompt_ids, cfg.copy, cfg.lookup_ngram) if length else None
    if not cfg.budget:
        return StaticDrafter(tt, choice.chain, matcher)
    if matrix.acceptance is None or matrix.acceptance.k != cfg.k:
        matrix.acceptance = Acceptance(cfg.k)
    branches = cfg.copy_branches if cfg.copy else 1
    return BudgetDrafter(
        tt, matcher, matrix.acceptance, cost, length, branches, cfg.budget_nodes, full=full
    )
