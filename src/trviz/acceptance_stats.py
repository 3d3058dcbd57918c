"""Per-node acceptance over a trace: how often a draft at each depth and rank is accepted.

What users of tree drafters look at to shape a tree (a node's acceptance rate is its expected
contribution to the accepted length): for every (depth, rank) position, the drafts made there, how
many were accepted, and how many were accepted when their parent was (the conditional rate, which
tells whether to grow that branch). Nodes copied from the context (prompt lookup) are counted
apart, by depth, since their rank means nothing. Empty slots are not drafts. Stdlib only.
"""

from __future__ import annotations

from dataclasses import dataclass

from trviz.describe import describe_step, require_full
from trviz.trace import Trace

COPIED = "copied"


@dataclass
class Cell:
    """The drafts at one (depth, rank) position (rank ``"copied"`` for prompt-lookup nodes)."""

    depth: int
    rank: int | str
    drafted: int = 0
    accepted: int = 0
    reached: int = 0  # drafts whose parent was accepted (or was the root)

    @property
    def rate(self) -> float:
        """Accepted / drafted."""
        return self.accepted / self.drafted if self.drafted else 0.0

    @property
    def rate_given_parent(self) -> float:
        """Accepted / drafted under an accepted parent."""
        return self.accepted / self.reached if self.reached else 0.0


def node_acceptance(trace: Trace) -> dict[tuple[int, int | str], Cell]:
    """``{(depth, rank): Cell}`` over every step of a full trace (ranks as ints, ``"copied"``)."""
    require_full(trace, "per-node acceptance")
    cells: dict[tuple[int, int | str], Cell] = {}
    for rec in trace:
        story = describe_step(trace, rec.step)
        for n in story.nodes[1:]:
            if n.token < 0:
                continue
            key = (n.depth, COPIED if n.origin == "copied" else n.rank)
            cell = cells.setdefault(key, Cell(*key))
            cell.drafted += 1
            cell.accepted += n.accepted
            cell.reached += story.nodes[n.parent].accepted
    return dict(sorted(cells.items(), key=lambda kv: (kv[0][0], str(kv[0][1]).zfill(3))))


def acceptance_text(trace: Trace) -> str:
    """The text twin of :func:`trviz.views.acceptance_figure`: one line per depth, one
    ``rate (accepted/drafted)`` column per rank (copied nodes last)."""
    cells = node_acceptance(trace)
    ranks = sorted({r for _, r in cells if r != COPIED}) + ([COPIED] if any(
        r == COPIED for _, r in cells) else [])  # fmt: skip
    depths = sorted({d for d, _ in cells})
    head = "depth | " + " | ".join(f"{('r' + str(r)) if r != COPIED else r:>12}" for r in ranks)
    lines = ["acceptance by tree position: accepted / drafted (rate)", head]
    for d in depths:
        row = []
        for r in ranks:
            c = cells.get((d, r))
            row.append(f"{c.rate:4.0%} {c.accepted:>3}/{c.drafted:<3}" if c else " " * 12)
        lines.append((f"{d:5d} | " + " | ".join(row)).rstrip())
    return "\n".join(lines)
