"""Adjacency-matrix exercises: the paper's update (02), trviz's tie-break when a token sits at
several nodes (02), and the breadth-first draft (03)."""

from __future__ import annotations

from typing import Any

from tr_notebooks.checkers.core import (
    CHAIN_3,
    FAN_3,
    SMALL_TREE,
    Case,
    Exercise,
    Mistake,
    as_tree_args,
    path_of,
    type_problem,
)
from trviz.trees import Tree

# ----- 02a: the paper's update: every node recycles its top-k -----------------------------------


def ref_recycle(tokens: list[int], topk: list[list[int]], committed: list[int]) -> dict:
    """trviz's answer via ``trviz.matrix.write_winners`` + ``update``: ``{token: new row}``."""
    import torch

    from trviz.matrix import update, write_winners

    t = torch.tensor(tokens)
    on_path = torch.zeros(len(tokens), dtype=torch.bool)
    on_path[list(committed)] = True
    order = torch.arange(len(tokens))  # committed nodes are ancestors: later index = deeper
    winners = write_winners(t, on_path, order)
    vocab = max(max(tokens), max(max(r) for r in topk)) + 1
    table = torch.full((vocab, len(topk[0])), -1, dtype=torch.int32)
    update(table, t.clamp_min(0), torch.tensor(topk), winners)
    return {tok: table[tok].tolist() for tok in sorted({x for x in tokens if x >= 0})}


def recycle(tokens: list[int], topk: list[list[int]], committed: list[int]) -> dict:
    rows: dict[int, list[int]] = {}
    for node in tie_break(tokens, committed).values():
        rows[tokens[node]] = topk[node]
    return rows


def explain_rows(args: dict[str, Any], expected: dict, got: Any) -> str | None:
    if problem := type_problem(got, dict, "a dict {token: new row}"):
        return problem
    for tok, row in expected.items():
        if tok not in got:
            nodes = [i for i, t in enumerate(args["tokens"]) if t == tok]
            return (
                f"row {tok} should be rewritten to {row} (node {nodes[0]}), yours does not write it"
            )
        if got[tok] != row:
            nodes = [i for i, t in enumerate(args["tokens"]) if t == tok]
            where = f"token {tok} sits at node{'s' * (len(nodes) > 1)} {nodes}"
            return f"row {tok} should become {row}, yours is {got[tok]} ({where})"
    extra = sorted(set(got) - set(expected), key=str)
    if extra:
        return f"yours also writes row {extra[0]}, which no drafted node carries"
    return None


RECYCLE = Exercise(
    name="recycle",
    notebook="02",
    task="fn(tokens, topk, committed) -> {token: new row} (every node writes its top-k)",
    reference=ref_recycle,
    solution=recycle,
    cases=(
        Case(
            "a chain, all accepted",
            {"tokens": [3, 7, 9], "topk": [[7, 1], [9, 2], [4, 5]], "committed": [0, 1, 2]},
        ),
        Case(
            "rejected nodes are recycled too",
            {"tokens": [3, 7, 8, 9], "topk": [[7, 8], [9, 1], [2, 6], [4, 5]], "committed": [0]},
        ),
        Case(
            "the root writes its row, nothing accepted",
            {"tokens": [4, 6, 5], "topk": [[6, 1], [2, 2], [3, 3]], "committed": [0]},
        ),
        Case(
            "unwritten slots (-1) write nothing",
            {"tokens": [4, -1, 6], "topk": [[6, 1], [2, 2], [3, 3]], "committed": [0, 2]},
        ),
    ),
    explain=explain_rows,
    hint="every node with a real token (not -1) writes its top-k into row tokens[i], whether "
    "it was accepted or not.",
    mistakes=(
        Mistake(
            "only the accepted path was written",
            lambda tokens, topk, committed: {
                tokens[i]: topk[i] for i in committed if tokens[i] >= 0
            },
            "recycle EVERY node, accepted or rejected: the rejected drafts' logits were "
            "computed in the same forward, and they are the 'trash' the paper turns into drafts.",
        ),
        Mistake(
            "the root's row was not written",
            lambda tokens, topk, committed: {
                t: r for t, r in list(zip(tokens, topk))[1:] if t >= 0
            },
            "the root is a node of the forward too: its logits give the candidates after it.",
        ),
        Mistake(
            "an empty slot wrote row -1",
            lambda tokens, topk, committed: dict(zip(tokens, topk)),
            "a -1 slot carries no token: skip it.",
        ),
    ),
)

# ----- 02b: trviz's tie-break: which node writes a repeated token's row -------------------------


def ref_tie_break(tokens: list[int], committed: list[int]) -> dict[int, int]:
    """trviz's answer via ``trviz.matrix.write_winners``: ``{token: the node that writes it}``."""
    import torch

    from trviz.matrix import write_winners

    on_path = torch.zeros(len(tokens), dtype=torch.bool)
    on_path[list(committed)] = True
    winners = write_winners(torch.tensor(tokens), on_path, torch.arange(len(tokens)))
    return {tokens[i]: i for i in range(len(tokens)) if winners[i]}


def tie_break(tokens: list[int], committed: list[int], rule: str = "trviz") -> dict[int, int]:
    """Committed nodes win, the deepest (= latest) of them; else the first node. ``rule``:
    ``"last"``/``"first"`` ignore the path (the mistakes), ``"shallow"`` keeps the first
    committed node."""
    win: dict[int, int] = {}
    for i, t in enumerate(tokens):
        if t < 0:
            continue
        if t not in win or rule == "last":
            win[t] = i
    if rule in ("trviz", "shallow"):
        for i in sorted(committed, reverse=rule == "shallow"):
            if tokens[i] >= 0:
                win[tokens[i]] = i
    return win


def explain_winners(args: dict[str, Any], expected: dict, got: Any) -> str | None:
    if problem := type_problem(got, dict, "a dict {token: node index}"):
        return problem
    for tok, node in expected.items():
        nodes = [i for i, t in enumerate(args["tokens"]) if t == tok]
        if got.get(tok) != node:
            where = f"token {tok} sits at node{'s' * (len(nodes) > 1)} {nodes}"
            return (
                f"row {tok} should be written by node {node}, yours says {got.get(tok)} ({where})"
            )
    extra = sorted(set(got) - set(expected), key=str)
    if extra:
        return f"yours also names a writer for {extra[0]}, which no drafted node carries"
    return None


TIE_BREAK = Exercise(
    name="tie_break",
    notebook="02",
    task="fn(tokens, committed) -> {token: the node whose top-k is written into its row}",
    reference=ref_tie_break,
    solution=tie_break,
    cases=(
        Case("every token once", {"tokens": [3, 7, 9, 4], "committed": [0, 1]}),
        Case(
            "a repeated token: the committed node wins",
            {"tokens": [3, 5, 3, 6], "committed": [0, 1]},
        ),
        Case(
            "two committed copies: the deepest wins",
            {"tokens": [9, 2, 2, 2], "committed": [0, 2, 3]},
        ),
        Case(
            "no copy committed: the first node wins",
            {"tokens": [1, 4, 8, 4, 8], "committed": [0]},
        ),
        Case("empty slots (-1) never write", {"tokens": [4, -1, 6, -1], "committed": [0]}),
    ),
    explain=explain_winners,
    hint="a node on the committed path beats a node off it; among committed nodes the deepest "
    "(latest) wins; among the others the earliest node wins. -1 slots never write.",
    mistakes=(
        Mistake(
            "the last write won, whatever the path",
            lambda tokens, committed: tie_break(tokens, committed, rule="last"),
            "that is what a scatter with duplicate indices happens to do in the reference code "
            "(unspecified order); trviz picks deterministically: committed nodes first.",
        ),
        Mistake(
            "the first node won, whatever the path",
            lambda tokens, committed: tie_break(tokens, committed, rule="first"),
            "a node on the committed path beats one off it: its context is the real text.",
        ),
        Mistake(
            "the shallowest committed node won",
            lambda tokens, committed: tie_break(tokens, committed, rule="shallow"),
            "among committed nodes the deepest wins: its context is the most recent.",
        ),
    ),
)

# ----- 03: fill the draft tree from the matrix --------------------------------------------------


def ref_draft(rows: dict, root: int, parents: list[int], ranks: list[int]) -> list[int]:
    """trviz's answer via ``trviz.matrix.draft`` (missing rows are unwritten: ``-1``)."""
    import torch

    from trviz.matrix import draft

    k = max([max(ranks) + 1, *(len(r) for r in rows.values())])
    vocab = max([root, *rows, *(t for r in rows.values() for t in r)]) + 1
    table = torch.full((vocab, k), -1, dtype=torch.int32)
    for tok, row in rows.items():
        table[tok, : len(row)] = torch.tensor(row, dtype=torch.int32)
    tree = Tree(tuple(parents), tuple(ranks))
    par = torch.tensor((0,) + tree.parents[1:])
    return draft(table, torch.tensor(root), par, torch.tensor(ranks), tree.layers).tolist()


def draft(rows: dict, root: int, parents: list[int], ranks: list[int], rank_of=None) -> list:
    """Breadth-first fill; ``rank_of(i)`` (default ``ranks[i]``) lets a mistake read another
    column."""
    tokens = [root]
    for i in range(1, len(parents)):
        row = rows.get(tokens[parents[i]]) if tokens[parents[i]] >= 0 else None
        r = ranks[i] if rank_of is None else rank_of(i)
        tokens.append(row[r] if row is not None and r < len(row) else -1)
    return tokens


def explain_tokens(args: dict[str, Any], expected: list[int], got: Any) -> str | None:
    if problem := type_problem(got, list, "a list with one token per node"):
        return problem
    if len(got) != len(expected):
        return f"should return {len(expected)} tokens (root + every node), yours has {len(got)}"
    for i, (want, have) in enumerate(zip(expected, got)):
        if want != have:
            what = "the root" if i == 0 else f"node {i} (path {path_of(args['parents'], i)})"
            return f"{what} should carry token {want}, yours has {have}"
    return None


_ROWS = {10: [11, 12, 13], 11: [14, 15, 16], 12: [17, 18, 19], 14: [20, 21, 22]}
DRAFT = Exercise(
    name="draft",
    notebook="03",
    task="fn(rows, root, parents, ranks) -> tokens, root at index 0 (-1: unwritten)",
    reference=ref_draft,
    solution=draft,
    cases=(
        Case("one level", {"rows": _ROWS, "root": 10, **as_tree_args(FAN_3)}),
        Case("a chain follows rank 0", {"rows": _ROWS, "root": 10, **as_tree_args(CHAIN_3)}),
        Case("the hand-drawn tree", {"rows": _ROWS, "root": 10, **as_tree_args(SMALL_TREE)}),
        Case(
            "an unwritten row leaves its subtree unwritten (-1)",
            {"rows": {10: [11, 12, 13], 11: [14, 15, 16]}, "root": 10, **as_tree_args(SMALL_TREE)},
        ),
        Case("a cold start: nothing written yet", {"rows": {}, "root": 10, **as_tree_args(FAN_3)}),
    ),
    explain=explain_tokens,
    hint="go through the nodes in order (BFS: parents come first); node i reads "
    "rows[token of parents[i]][ranks[i]], or -1 when that row does not exist.",
    mistakes=(
        Mistake(
            "every node read the root's row",
            lambda rows, root, parents, ranks: (
                [root] + [rows[root][r] if root in rows else -1 for r in ranks[1:]]
            ),
            "node i reads the row of its PARENT's token (tokens[parents[i]]), not the root's: "
            "that is what makes a path a continuation.",
        ),
        Mistake(
            "a node read its parent's rank instead of its own",
            lambda rows, root, parents, ranks: draft(
                rows, root, parents, ranks, rank_of=lambda i: ranks[parents[i]]
            ),
            "the column is the node's own rank, ranks[i] (the last entry of its path).",
        ),
    ),
)

EXERCISES = (RECYCLE, TIE_BREAK, DRAFT)
