"""Trash into treasure, measured: where every accepted draft's matrix entry came from.

Token Recycling writes *every* tree node's top-k back into the matrix, rejected nodes included
(Luo et al., arXiv 2408.08696: "turning trash into treasure"). Replaying a full trace tells, for
each drafted node, which write put its token into the row it was read from:

- ``path``: a node on an earlier accepted path (the root included) wrote the row;
- ``rejected``: a rejected node wrote it: recycled "trash";
- ``seed``: the prefill seed wrote it (``seed_from_prompt=True``);
- ``hot_start``: it was written before the trace began (a matrix passed in, or earlier steps
  of a sliced trace);
- ``placeholder``: the row was never written (the paper's zero fill drafts token 0);
- ``lookup``: the token was copied from the context, not read from the matrix.

Each row is written whole, so "who wrote the entry" is who last wrote the row before the step.
``history`` passes earlier traces decoded on the same matrix (hot start across prompts), so their
writes count as sources instead of ``hot_start``. Stdlib only.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

from trviz.describe import (
    Row,
    StepStory,
    describe_step,
    fill_value,
    is_never_written,
    require_full,
)
from trviz.scheme import LOOKS
from trviz.text import token_label
from trviz.trace import Trace

SOURCES = ("path", "rejected", "seed", "hot_start", "placeholder", "lookup")


@dataclass(frozen=True)
class Origin:
    """Who last wrote a matrix row: ``kind`` (a :data:`SOURCES` key), at ``step`` by ``node``."""

    kind: str
    step: int | None = None
    node: int | None = None


@dataclass(frozen=True)
class Draft:
    """One drafted (non-empty) node and the origin of its token."""

    step: int
    node: int
    token: int
    row: int | None  # the row it was read from (None: copied from the context)
    rank: int
    origin: Origin
    accepted: bool  # accepted and committed


def _unknown(row: Row, fill: int) -> Origin:
    return Origin("placeholder" if is_never_written(row.before, fill) else "hot_start")


def _seeded(trace: Trace) -> list[int]:
    """Rows the prefill seed wrote before the first step (``seed_from_prompt``)."""
    if not (trace.meta.get("config") or {}).get("seed_from_prompt"):
        return []
    return list((trace.meta.get("prompt_ids") or [])[:-1])


Step = tuple[StepStory, list["Draft"], dict[int, "Origin"]]


def walk(trace: Trace, history: Sequence[Trace] = ()) -> Iterator[Step]:
    """Every step of ``trace`` (after replaying ``history``): its story, its drafted nodes with
    their origins, and the origin of each row in ``story.rows`` as the step found it."""
    for index, step in walk_all([*history, trace]):
        if index == len(history):
            yield step


def walk_all(traces: Sequence[Trace]) -> Iterator[tuple[int, Step]]:
    """:func:`walk` over ``traces`` decoded one after another on the same matrix, in one pass:
    ``(index of the trace, step)`` for every step of every trace."""
    last: dict[int, Origin] = {}
    for index, t in enumerate(traces):
        require_full(t, "recycling statistics")
        fill = fill_value(t)
        last.update({tok: Origin("seed", t.steps[0].step) for tok in _seeded(t)})
        for rec in t:
            story = describe_step(t, rec.step)
            found = {row.token: last.get(row.token) or _unknown(row, fill) for row in story.rows}
            committed = set(story.path[1 : 1 + story.kept])
            drafts = [
                Draft(story.step, i, n.token, row.token, n.rank, found[row.token], i in committed)
                for row in story.rows for i in row.filled
                for n in [story.nodes[i]] if n.token >= 0
            ]  # fmt: skip
            drafts += [
                Draft(story.step, n.index, n.token, None, n.rank, Origin("lookup"),
                      n.index in committed)
                for n in story.nodes if n.origin == "copied"
            ]  # fmt: skip
            yield index, (story, sorted(drafts, key=lambda d: d.node), found)
            for w in rec.rows_written:
                kind = "path" if story.nodes[w.node].accepted else "rejected"
                last[w.token] = Origin(kind, story.step, w.node)


def source_counts(traces: Sequence[Trace]) -> list[Counter]:
    """Accepted drafts by source for each of ``traces`` (decoded one after another on the same
    matrix; each one's history is the ones before it), in one pass."""
    counts = [Counter({s: 0 for s in SOURCES}) for _ in traces]
    for index, (_, drafts, _) in walk_all(traces):
        counts[index].update(d.origin.kind for d in drafts if d.accepted)
    return counts


def recycling_stats(trace: Trace, history: Sequence[Trace] = ()) -> dict[str, dict[str, float]]:
    """Where the accepted drafts of ``trace`` came from.

    Returns ``{"counts": {source: n}, "shares": {source: n / total}}`` over :data:`SOURCES`
    (module docstring); the shares sum to 1 (all 0 when nothing was accepted). Only drafts that
    were committed count (not the bonus, not drafts cut by the token cap).
    """
    return stats_of(source_counts([*history, trace])[-1])


def stats_of(counts: Counter) -> dict[str, dict[str, float]]:
    """``{"counts", "shares"}`` of accepted-draft counts by source."""
    total = sum(counts[s] for s in SOURCES)
    return {
        "counts": {s: counts[s] for s in SOURCES},
        "shares": {s: counts[s] / total if total else 0.0 for s in SOURCES},
    }


def shares_by_step(trace: Trace, history: Sequence[Trace] = ()) -> list[tuple[int, Counter]]:
    """``(step, Counter(source -> accepted drafts))`` for every step of ``trace``."""
    return [
        (story.step, Counter(d.origin.kind for d in drafts if d.accepted))
        for story, drafts, _ in walk(trace, history)
    ]


@dataclass(frozen=True)
class RowVersion:
    """One content of a matrix row, from the write that made it to the next one."""

    origin: Origin  # who wrote it (``hot_start`` / ``placeholder`` / ``seed`` before any step)
    row: tuple[int, ...]
    uses: tuple[Draft, ...]  # nodes drafted from this content, in step order


Walked = Iterable[tuple[StepStory, list[Draft], dict[int, Origin]]]


def row_versions(trace: Trace, token: int, history: Sequence[Trace] = ()) -> list[RowVersion]:
    """The history of matrix row ``token`` across ``trace``: each version and what it drafted."""
    return versions_of(walk(trace, history), token)


def versions_of(walked: Walked, token: int) -> list[RowVersion]:
    """:func:`row_versions` from :func:`walk`'s steps (a caller may keep them and pass a prefix)."""
    versions: list[RowVersion] = []
    for story, drafts, found in walked:
        row = next((r for r in story.rows if r.token == token), None)
        if row is None:
            continue
        last = versions[-1] if versions else None
        if last is None or last.row != row.before or last.origin != found[token]:
            versions.append(RowVersion(found[token], row.before, ()))
        uses = tuple(d for d in drafts if d.row == token)
        if uses:
            cur = versions[-1]
            versions[-1] = RowVersion(cur.origin, cur.row, cur.uses + uses)
        if row.writer is not None:
            kind = "path" if story.nodes[row.writer].accepted else "rejected"
            versions.append(RowVersion(Origin(kind, story.step, row.writer), row.after, ()))
    return versions


def treasure(trace: Trace, history: Sequence[Trace] = ()) -> list[tuple[int, int]]:
    """Rows ranked by accepted drafts whose entry a rejected node wrote: ``[(token, count)]``,
    most first (ties: the row seen first). The rows where recycling paid off visibly."""
    found: Counter = Counter()
    for _, drafts, _ in walk(trace, history):
        found.update(d.row for d in drafts if d.accepted and d.origin.kind == "rejected")
    return found.most_common()


SOURCE_WORDS = {s: LOOKS[f"from_{s}"].word for s in SOURCES}


def recycling_text(trace: Trace, history: Sequence[Trace] = ()) -> str:
    """The text twin of :func:`trviz.views.recycling_figure`: one line per source."""
    stats = recycling_stats(trace, history)
    total = sum(stats["counts"].values())
    lines = [f"accepted drafts: {total}, by where their matrix entry came from"]
    for s in SOURCES:
        n, share = stats["counts"][s], stats["shares"][s]
        lines.append(f"  {s:<11} {n:5d}  {share:6.1%}  {SOURCE_WORDS[s]}")
    return "\n".join(lines)


def version_name(version: RowVersion) -> str:
    """``"step 5 · node 72 (rejected)"``: who made one version of a row."""
    o = version.origin
    if o.kind in ("path", "rejected"):
        who = "root" if o.node == 0 else f"node {o.node}"
        return f"step {o.step} · {who} ({'accepted path' if o.kind == 'path' else 'rejected'})"
    return {"seed": "prefill seed", "placeholder": "never written"}.get(o.kind, "before the trace")


def row_story_text(trace: Trace, token: int, history: Sequence[Trace] = ()) -> str:
    """The text twin of :func:`trviz.views.row_story_figure`: each version of row ``token``, who
    wrote it, and the drafts it made (``✓`` accepted)."""
    return story_lines(trace, token, row_versions(trace, token, history))


def story_lines(trace: Trace, token: int, versions: list[RowVersion]) -> str:
    """:func:`row_story_text` from already computed versions."""
    lines = [f"row '{token_label(trace, token)}' (id {token}): {len(versions)} versions"]
    for v in versions:
        row = " ".join(token_label(trace, t, 8) for t in v.row)
        lines.append(f"  {version_name(v)}: [{row}]")
        for d in v.uses:
            mark = "✓" if d.accepted else " "
            lines.append(
                f"    {mark} step {d.step} node {d.node} r{d.rank} '{token_label(trace, d.token)}'"
            )
    return "\n".join(lines)
