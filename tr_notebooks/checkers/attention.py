"""Tree-attention exercises (notebook 04): the mask, the position ids, one forward over a tree
that must give one-by-one decoding's logits, and the KV-cache compaction after verification."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

from tr_notebooks.checkers.core import (
    CHAIN_3,
    FAN_3,
    SP,
    Case,
    Exercise,
    Mistake,
    ancestors,
    depth,
    path_of,
    tree_of,
    type_problem,
)

# ----- the mask and the positions ---------------------------------------------------------------


def ref_tree_mask(parents: list[int]) -> list[list[bool]]:
    """trviz's answer via ``trviz.tree_attention.tree_mask`` (no prefix: the tree block only)."""
    import torch

    from trviz.tree_attention import TreeTensors, tree_mask

    tt = TreeTensors.build(tree_of(parents), "cpu")
    return tree_mask(tt, 0, "bool", torch.float32)[0, 0].tolist()


def mask_of(parents: list[int]) -> list[list[bool]]:
    n = len(parents)
    return [[j in ancestors(parents, i) for j in range(n)] for i in range(n)]


def explain_mask(args: dict[str, Any], expected: list[list[bool]], got: Any) -> str | None:
    if problem := type_problem(got, list, "a list of rows (lists of bools)"):
        return problem
    n = len(expected)
    if len(got) != n or any(not isinstance(r, list) or len(r) != n for r in got):
        return f"should be {n} rows of {n} bools (one per tree token, root included)"
    parents = args["parents"]
    for i in range(n):
        for j in range(n):
            if bool(got[i][j]) != expected[i][j]:
                sees = expected[i][j]
                why = (
                    "itself"
                    if i == j
                    else f"its ancestor {j}"
                    if sees
                    else f"node {j}, which is not its ancestor"
                )
                return (
                    f"row {i} (node {i}, path {path_of(parents, i)}), column {j}: should be "
                    f"{sees} (node {i} {'sees' if sees else 'must not see'} {why}), yours is "
                    f"{bool(got[i][j])}"
                )
    return None


TREE_MASK = Exercise(
    name="tree_mask",
    notebook="04",
    task="fn(parents) -> mask, mask[i][j] True iff node i may attend to node j",
    reference=ref_tree_mask,
    solution=mask_of,
    cases=(
        Case("a chain: plain causal", {"parents": list(CHAIN_3.parents)}),
        Case("a fan: siblings never see each other", {"parents": list(FAN_3.parents)}),
        Case("the hand-drawn tree", {"parents": SP}),
    ),
    explain=explain_mask,
    hint="node i sees itself and every ancestor (follow parents[] up to the root), nothing "
    "else: not its siblings, not their children.",
    mistakes=(
        Mistake(
            "a causal mask: every node sees all earlier nodes",
            lambda parents: [[j <= i for j in range(len(parents))] for i in range(len(parents))],
            "in BFS order an earlier node is often a sibling or a cousin: node i sees only its "
            "own ancestors (follow parents[] up) and itself.",
        ),
        Mistake(
            "a node does not see itself",
            lambda parents: [
                [j in ancestors(parents, i) and j != i for j in range(len(parents))]
                for i in range(len(parents))
            ],
            "the diagonal is True: a token attends to itself, as in any causal mask.",
        ),
        Mistake(
            "a node sees its parent but not the older ancestors",
            lambda parents: [
                [j == i or j == parents[i] for j in range(len(parents))]
                for i in range(len(parents))
            ],
            "follow parents[] all the way up to the root: a node's context is its whole path.",
        ),
    ),
)


def ref_positions(parents: list[int], prefix_len: int) -> list[int]:
    """trviz's answer via ``trviz.tree_attention.tree_positions``."""
    from trviz.tree_attention import TreeTensors, tree_positions

    return tree_positions(TreeTensors.build(tree_of(parents), "cpu"), prefix_len)[0].tolist()


def positions(parents: list[int], prefix_len: int, shift: int = 0) -> list[int]:
    return [prefix_len + depth(parents, i) + shift for i in range(len(parents))]


def explain_positions(args: dict[str, Any], expected: list[int], got: Any) -> str | None:
    if problem := type_problem(got, list, "a list of position ids"):
        return problem
    if len(got) != len(expected):
        return f"should return {len(expected)} position ids, yours has {len(got)}"
    for i, (want, have) in enumerate(zip(expected, got)):
        if want != have:
            return (
                f"node {i} (path {path_of(args['parents'], i)}) should sit at position {want}, "
                f"yours says {have}"
            )
    return None


POSITIONS = Exercise(
    name="positions",
    notebook="04",
    task="fn(parents, prefix_len) -> position id of every tree token, root first",
    reference=ref_positions,
    solution=positions,
    cases=(
        Case("a chain after 5 prompt tokens", {"parents": list(CHAIN_3.parents), "prefix_len": 5}),
        Case("a fan after 9 tokens", {"parents": list(FAN_3.parents), "prefix_len": 9}),
        Case("the hand-drawn tree after 12 tokens", {"parents": SP, "prefix_len": 12}),
    ),
    explain=explain_positions,
    hint="a node sits where it would sit in its own sequence: prefix length + its depth.",
    mistakes=(
        Mistake(
            "positions numbered as one flat sequence",
            lambda parents, prefix_len: [prefix_len + i for i in range(len(parents))],
            "siblings are alternatives for the SAME position: use the depth, not the index.",
        ),
        Mistake(
            "one position too far (depth off by one)",
            lambda parents, prefix_len: positions(parents, prefix_len, shift=1),
            "the prefix holds positions 0..prefix_len - 1, so the root (depth 0) sits at "
            "prefix_len exactly.",
        ),
        Mistake(
            "one position too early (depth off by one)",
            lambda parents, prefix_len: positions(parents, prefix_len, shift=-1),
            "the root is the token right after the prefix: position prefix_len, not "
            "prefix_len - 1.",
        ),
    ),
)

# ----- tree-attention logits == one-by-one logits (needs a model) -------------------------------

TOLERANCE = 1e-4  # fp32: a tree forward and one-token forwards agree to rounding


def ref_tree_logits(model, prefix_ids: list[int], tokens: list[int], parents: list[int]):
    """trviz's answer: one forward over the tree (``trviz.forward.forward_tree``) after the
    prefix was prefilled into a cache; logits ``[S, V]`` (float32)."""
    import torch

    from trviz.forward import forward_tree, prefill
    from trviz.kv import new_cache
    from trviz.tree_attention import TreeTensors, mask_kind

    with torch.inference_mode():
        cache = new_cache(model)
        prefill(model, cache, torch.tensor(prefix_ids))
        tt = TreeTensors.build(tree_of(parents), "cpu")
        logits = forward_tree(
            model, cache, torch.tensor(tokens), tt, len(prefix_ids), mask_kind(model)
        )
    return logits.float()


def tree_logits(model, prefix_ids: list[int], tokens: list[int], parents: list[int]):
    """The truth, one node at a time: a plain causal forward over prefix + the node's path."""
    import torch

    rows = []
    with torch.inference_mode():
        for i in range(len(tokens)):
            ids = prefix_ids + [tokens[a] for a in ancestors(parents, i)]
            rows.append(model(input_ids=torch.tensor([ids])).logits[0, -1].float())
    return torch.stack(rows)


def _tree_forward(model, prefix_ids, tokens, parents, mask_rows, pos):
    """One forward over prefix + tree with a given tree mask and positions (for the mistakes)."""
    import torch

    p, s = len(prefix_ids), len(tokens)
    allowed = torch.zeros(p + s, p + s, dtype=torch.bool)
    allowed[:p, :p] = torch.ones(p, p, dtype=torch.bool).tril()
    allowed[p:, :p] = True
    allowed[p:, p:] = torch.tensor(mask_rows)
    position_ids = torch.tensor([list(range(p)) + pos])
    with torch.inference_mode():
        out = model(
            input_ids=torch.tensor([prefix_ids + tokens]),
            attention_mask=_mask_for(model, allowed),
            position_ids=position_ids,
        )
    return out.logits[0, p:].float()


def _mask_for(model, allowed):
    import torch

    from trviz.tree_attention import mask_kind

    if mask_kind(model) == "bool":
        return allowed[None, None]
    neg = torch.finfo(model.dtype).min
    return torch.zeros(allowed.shape, dtype=model.dtype).masked_fill(~allowed, neg)[None, None]


def _collect_logits(fn, args: dict[str, Any]):
    import torch

    return torch.as_tensor(fn(*args.values())).detach().float().cpu()


def explain_logits(args: dict[str, Any], expected, got) -> str | None:
    if tuple(got.shape) != tuple(expected.shape):
        return (
            f"should return logits of shape {tuple(expected.shape)} (one row per tree token), "
            f"yours has shape {tuple(got.shape)}"
        )
    diff = (got - expected).abs().amax(-1)  # [S]
    bad = [i for i in range(len(diff)) if float(diff[i]) > TOLERANCE]
    if not bad:
        return None
    i = bad[0]
    return (
        f"node {i} (path {path_of(args['parents'], i)}) differs from one-by-one decoding by up "
        f"to {float(diff[i]):.3g} (tolerance {TOLERANCE:g}); argmax {int(expected[i].argmax())} "
        f"expected, yours {int(got[i].argmax())}; nodes off: {bad}"
    )


def _forward_with(tree_mask: bool, depth_positions: bool):
    """A one-forward answer built with the tree mask or a causal block, and depth or flat
    positions (three of the four combinations are the common mistakes)."""

    def answer(model, prefix_ids, tokens, parents):
        n, p = len(tokens), len(prefix_ids)
        rows = mask_of(parents) if tree_mask else [[j <= i for j in range(n)] for i in range(n)]
        pos = positions(parents, p) if depth_positions else [p + i for i in range(n)]
        return _tree_forward(model, prefix_ids, tokens, parents, rows, pos)

    return answer


def _tree(parents: list[int]) -> dict[str, Any]:
    return {"tokens": [40 + i for i in range(len(parents))], "parents": parents}


TREE_LOGITS = Exercise(
    name="tree_logits",
    notebook="04",
    task="fn(model, prefix_ids, tokens, parents) -> logits [S, V] of ONE forward over the tree",
    reference=ref_tree_logits,
    solution=tree_logits,
    cases=(
        Case("a fan of three", {"prefix_ids": [5, 17, 33, 8], **_tree(list(FAN_3.parents))}),
        Case("the hand-drawn tree", {"prefix_ids": [5, 17, 33, 8, 21], **_tree(SP)}),
    ),
    explain=explain_logits,
    hint="feed prefix + tree tokens in one call with attention_mask = a [1, 1, P+S, P+S] bool "
    "mask (causal over the prefix, every tree token sees the whole prefix, then the tree "
    "block) and position_ids = 0..P-1, then P + depth for every tree token; return the last S "
    "rows of the logits.",
    mistakes=(
        Mistake(
            "a plain causal forward: the tree was read as one sequence",
            _forward_with(tree_mask=False, depth_positions=False),
            "node i must see only the prefix, its ancestors and itself (the tree mask), and "
            "sit at position P + depth: build both from parents.",
        ),
        Mistake(
            "the tree mask is right but the positions are flat",
            _forward_with(tree_mask=True, depth_positions=False),
            "rotary position embeddings see the position id: siblings share P + depth.",
        ),
        Mistake(
            "the positions are right but siblings see each other",
            _forward_with(tree_mask=False, depth_positions=True),
            "with a causal block a node also attends to earlier siblings and cousins: use "
            "the tree mask (ancestors and itself only).",
        ),
    ),
    collect=_collect_logits,
    tolerant=True,
)

# ----- KV-cache compaction ----------------------------------------------------------------------


def ref_compact(cache: list, prefix_len: int, path: list[int]) -> list:
    """trviz's answer via ``trviz.kv.compact`` on a stand-in cache whose entries are numbered."""
    import torch

    slots = torch.arange(len(cache), dtype=torch.float32).view(1, 1, -1, 1)
    layer = SimpleNamespace(keys=slots.clone(), values=slots.clone())
    keep = torch.tensor(path)
    contiguous = list(path) == list(range(len(path)))
    from trviz.kv import compact

    compact(SimpleNamespace(layers=[layer]), prefix_len, keep, len(path), contiguous)
    return [cache[int(i)] for i in layer.keys.flatten().tolist()]


def compact(cache: list, prefix_len: int, path: list[int]) -> list:
    return cache[:prefix_len] + [cache[prefix_len + i] for i in path]


def explain_cache(args: dict[str, Any], expected: list, got: Any) -> str | None:
    if problem := type_problem(got, list, "the new cache, as a list of entries"):
        return problem
    if got == expected:
        return None
    return f"after compaction the cache should hold {expected}, yours holds {got}"


_CACHE = ["p0", "p1", "p2", "r", "n1", "n2", "n3", "n4", "n5", "n6", "n7"]
COMPACT = Exercise(
    name="compact",
    notebook="04",
    task="fn(cache, prefix_len, path) -> the cache after keeping root + accepted nodes only",
    reference=ref_compact,
    solution=compact,
    cases=(
        Case(
            "nothing accepted: only the root stays", {"cache": _CACHE, "prefix_len": 3, "path": [0]}
        ),
        Case(
            "the first child, in order: a plain crop",
            {"cache": _CACHE, "prefix_len": 3, "path": [0, 1]},
        ),
        Case(
            "the second branch: a gather",
            {"cache": _CACHE, "prefix_len": 3, "path": [0, 2, 6]},
        ),
        Case(
            "all the way down [0,0,0]",
            {"cache": _CACHE, "prefix_len": 3, "path": [0, 1, 4, 7]},
        ),
    ),
    explain=explain_cache,
    hint="keep the prefix, then the entries of the path's nodes, in path order: node i of the "
    "tree sits at cache index prefix_len + i.",
    mistakes=(
        Mistake(
            "a crop: the first len(path) tree entries were kept",
            lambda cache, prefix_len, path: cache[: prefix_len + len(path)],
            "cropping is right only when the path is nodes 0, 1, 2, ... in order; otherwise "
            "gather the entries of the path's nodes (the accepted branch may be any branch).",
        ),
        Mistake(
            "the path's node indices were read as cache positions",
            lambda cache, prefix_len, path: cache[:prefix_len] + [cache[i] for i in path],
            "node i of the tree sits at cache index prefix_len + i: the tree starts after the "
            "prefix.",
        ),
        Mistake(
            "the prefix was dropped",
            lambda cache, prefix_len, path: [cache[prefix_len + i] for i in path],
            "compaction only touches the tree part: the committed prefix stays as it is.",
        ),
    ),
)

EXERCISES = (TREE_MASK, POSITIONS, TREE_LOGITS, COMPACT)
