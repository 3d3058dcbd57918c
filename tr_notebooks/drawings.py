"""Text drawings for the course: the KV cache before and after compaction (notebook 04).

A drawing is a pure function of plain data returning a string, so a notebook prints it in a
checked cell and a test can read it.
"""

from __future__ import annotations


def compaction_text(
    labels: list[str], prefix_len: int, path: list[int], depths: list[int], context: int = 2
) -> str:
    """The cache around one step: every tree entry's slot, position id and fate, then the result.

    labels: one label per tree node (root at 0), e.g. the decoded tokens; prefix_len: committed
    entries before the step (the root's position); path: the kept nodes, root first (root +
    accepted); depths: each node's depth. ``context`` prefix entries are shown before the tree.
    """
    width = max(len(label) for label in labels) + 2
    lines = [
        f"before compaction: {prefix_len} prefix entries + {len(labels)} tree entries "
        f"(the verification forward appended one per node)",
        f"  slot  position  {'entry':{8 + width}s} kept -> new slot",
    ]
    for slot in range(max(0, prefix_len - context), prefix_len):
        lines.append(f"  {slot:4d}  {slot:8d}  {'(prefix)':8s}{'':{width}s} stays")
    new_slot = {node: prefix_len + i for i, node in enumerate(path)}
    for node, label in enumerate(labels):
        slot, pos = prefix_len + node, prefix_len + depths[node]
        name = "root" if node == 0 else f"node {node}"
        fate = f"yes  -> {new_slot[node]}" if node in new_slot else "no"
        lines.append(f"  {slot:4d}  {pos:8d}  {name:8s}{label:{width}s} {fate}")
    kept = ", ".join(labels[n] for n in path)
    lines.append(
        f"after: {prefix_len + len(path)} entries; slots {prefix_len}..{prefix_len + len(path) - 1}"
        f" hold {kept} (position ids {prefix_len}..{prefix_len + len(path) - 1}: each kept entry's"
        " position now equals its slot)"
    )
    return "\n".join(lines)
