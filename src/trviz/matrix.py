"""The adjacency matrix ``M [V, k]`` and its two verbs: draft from it, write rows back into it.

Row ``t`` holds the top-k next-token candidates last seen after token ``t`` (logit-rank order).
int32 keeps SmolLM2's 49,152-row table at k=8 to 1.57 MB. Rows never written hold ``-1`` in
trviz's default config (``0`` in the paper's, which then drafts token 0 everywhere).

The update rule ("recycling"): after the verification forward, EVERY tree node's row is
overwritten with the top-k of that node's logits, accepted or not. When a token occurs at several
nodes, exactly one write wins, deterministically (the reference leaves this to scatter order):
    1. a node on the committed path (root + accepted drafts) beats one off it;
    2. among committed nodes, the deepest (most recent context) wins;
    3. among the others, the earliest in BFS order (shallowest, then highest-ranked) wins.
"""

from __future__ import annotations

import hashlib
import json
import os
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from trviz.acceptance import Acceptance
from trviz.checks import input_file, int_at_least, is_int
from trviz.errors import ConfigError, MatrixError
from trviz.plumbing import write_atomic

UNWRITTEN = -1
FORMAT = "trviz.matrix/1"  # files saved with a checksum keep it: "sha256" is read when present
MAX_TABLE_BYTES = 2**30  # refused above (49,152 rows x k=5,461): a tree reads ~8 columns
WARN_TABLE_BYTES = 2**28  # warned above (49,152 rows x k=1,365)


@dataclass
class Matrix:
    """The recycled candidate table plus what identifies it.

    ``table`` is ``[V, k]`` int32 on the model's device; ``fingerprint`` identifies the tokenizer
    vocabulary it was built with, so a table from another tokenizer is refused.
    """

    table: torch.Tensor
    fingerprint: str = ""
    steps_seen: int = 0
    meta: dict[str, Any] = field(default_factory=dict)
    acceptance: Acceptance | None = None  # the budget's running estimates (hot start)

    @property
    def vocab_size(self) -> int:
        return self.table.shape[0]

    @property
    def k(self) -> int:
        return self.table.shape[1]

    @property
    def nbytes(self) -> int:
        """Bytes of the first-order table (the paper's matrix)."""
        return self.table.numel() * self.table.element_size()

    def written_rows(self) -> int:
        """Rows holding candidates (a zero-filled paper matrix counts rows not all zero)."""
        if self.fill == UNWRITTEN:
            return int((self.table[:, 0] != UNWRITTEN).sum())
        return int((self.table != 0).any(1).sum())

    @property
    def fill(self) -> int:
        return int(self.meta.get("fill", 0))

    def clone(self) -> Matrix:
        est = self.acceptance.clone() if self.acceptance is not None else None
        return Matrix(self.table.clone(), self.fingerprint, self.steps_seen, dict(self.meta), est)

    def save(self, path: str | os.PathLike) -> Path:
        """Save atomically, with the vocabulary fingerprint, metadata and a checksum."""
        table = self.table.cpu()
        payload = {
            "format": FORMAT,
            "table": table,
            "fingerprint": self.fingerprint,
            "steps_seen": self.steps_seen,
            "meta": self.meta,
            "sha256": _digest(table, self.fingerprint, self.steps_seen, self.meta),
            "acceptance": self.acceptance.to_dict() if self.acceptance is not None else None,
        }
        return write_atomic(path, lambda f: torch.save(payload, f))

    def __repr__(self) -> str:
        return (
            f"Matrix(V={self.vocab_size}, k={self.k}, {self.nbytes / 1e6:.2f} MB, "
            f"steps_seen={self.steps_seen}, fingerprint={self.fingerprint[:12]!r})"
        )


def new_matrix(
    vocab_size: int,
    k: int = 8,
    *,
    fill: int = UNWRITTEN,
    device: str | torch.device = "cpu",
    fingerprint: str = "",
    **meta: Any,
) -> Matrix:
    """A fresh ``[vocab_size, k]`` int32 table filled with ``fill`` (0 reproduces the paper).

    A table over :data:`MAX_TABLE_BYTES` is refused before anything is allocated, and one over
    :data:`WARN_TABLE_BYTES` warns: a tree reads only its first few columns (the paper: 8).
    """
    int_at_least("k", k, 1)
    int_at_least("vocab_size", vocab_size, 1)
    if k > vocab_size:
        raise ConfigError(f"k={k} is larger than the vocabulary ({vocab_size} tokens)")
    if fill not in (UNWRITTEN, 0):
        raise ConfigError(f"fill must be -1 (unwritten rows) or 0 (the paper), got {fill!r}")
    nbytes = vocab_size * k * 4
    if nbytes > MAX_TABLE_BYTES:
        raise ConfigError(
            f"k={k} x {vocab_size:,} rows is a {nbytes / 1e9:.1f} GB table, over the "
            f"{MAX_TABLE_BYTES / 1e9:.1f} GB limit; use a smaller k (a tree reads only its first "
            "columns; the paper's k is 8)"
        )
    if nbytes > WARN_TABLE_BYTES:
        warnings.warn(
            f"k={k} x {vocab_size:,} rows is a {nbytes / 1e6:,.0f} MB table; a tree reads only "
            "its first columns (the paper's k is 8)",
            stacklevel=2,
        )
    table = torch.full((vocab_size, k), fill, dtype=torch.int32, device=device)
    return Matrix(table, fingerprint, 0, {"fill": fill, **meta})


def load_matrix(
    path: str | os.PathLike,
    *,
    fingerprint: str | None = None,
    device: str | torch.device = "cpu",
    max_bytes: int = MAX_TABLE_BYTES + 2**20,
) -> Matrix:
    """Load a saved matrix, checking its checksum (files saved before checksums have none) and
    its contents; refuse it if ``fingerprint`` is given and differs. A bad file raises
    :class:`MatrixError` saying why; a missing one FileNotFoundError."""
    input_file(path, "matrix", max_bytes, MatrixError)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as e:  # torch raises a zoo of types for a corrupt file
        raise MatrixError(f"{path}: not a readable trviz matrix ({e})") from e
    try:
        m = _from_payload(payload)
    except MatrixError as e:
        raise MatrixError(f"{path}: {e}") from e
    if fingerprint is not None and m.fingerprint != fingerprint:
        raise MatrixError(
            f"{path} was built with another tokenizer vocabulary (fingerprint "
            f"{m.fingerprint[:12]} != {fingerprint[:12]}); start a fresh matrix for this model"
        )
    m.table = m.table.to(device)
    return m


def _from_payload(payload: Any) -> Matrix:
    """A :class:`Matrix` from a loaded file's dict, every field and the checksum checked."""
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise MatrixError("not a trviz matrix file")
    missing = [key for key in ("table", "fingerprint", "steps_seen", "meta") if key not in payload]
    if missing:
        raise MatrixError(f"damaged matrix file: no {', '.join(map(repr, missing))}")
    table, fp, seen, meta = (payload[k] for k in ("table", "fingerprint", "steps_seen", "meta"))
    if not isinstance(fp, str) or not is_int(seen) or seen < 0 or not isinstance(meta, dict):
        raise MatrixError(
            "damaged matrix file: 'fingerprint' must be a string, 'steps_seen' an int >= 0 "
            "and 'meta' a dict"
        )
    check_table(table)
    digest = payload.get("sha256")  # None: saved before checksums
    if digest is not None and digest != _digest(table, fp, seen, meta):
        raise MatrixError("corrupted matrix file: the checksum does not match its contents")
    estimates = payload.get("acceptance")  # None: saved before the budget (or without one)
    acceptance = Acceptance.from_dict(estimates) if estimates is not None else None
    return Matrix(table, fp, int(seen), meta, acceptance)


def check_table(table: Any) -> None:
    """Raise :class:`MatrixError` unless ``table`` is a ``[V, k]`` integer tensor of ids in
    ``-1..V-1`` (-1: an unwritten slot), the only values drafting may read."""
    if not isinstance(table, torch.Tensor):
        raise MatrixError(f"the table must be a tensor, not {type(table).__name__}")
    if table.ndim != 2 or table.shape[0] < 1 or table.shape[1] < 1:
        raise MatrixError(f"the table must be 2-D [V, k] with V, k >= 1, got {list(table.shape)}")
    if table.dtype.is_floating_point or table.dtype.is_complex or table.dtype == torch.bool:
        raise MatrixError(f"the table must hold integer token ids, not {table.dtype}")
    lo, hi = int(table.min()), int(table.max())
    if lo < UNWRITTEN or hi >= table.shape[0]:
        raise MatrixError(
            f"the table holds token ids outside -1..{table.shape[0] - 1} (from {lo} to {hi}): "
            "it is damaged or not a trviz matrix"
        )


def _digest(table: torch.Tensor, fingerprint: str, steps_seen: int, meta: dict) -> str:
    """SHA-256 of everything a matrix file holds (the table's dtype, shape and bytes included)."""
    h = hashlib.sha256(f"{table.dtype}|{list(table.shape)}|{fingerprint}|{steps_seen}|".encode())
    h.update(json.dumps(meta, sort_keys=True, default=str).encode())
    h.update(table.contiguous().numpy().tobytes())
    return h.hexdigest()


def check_matrix(matrix: Matrix, vocab_size: int, k: int, fingerprint: str) -> None:
    """Raise MatrixError if ``matrix`` cannot serve a model with this vocabulary and k."""
    if not isinstance(matrix, Matrix):
        raise MatrixError(
            f"matrix must be a trviz Matrix (a previous result.matrix or load_matrix(path)), "
            f"not {type(matrix).__name__}"
        )
    check_table(matrix.table)
    if matrix.fingerprint and fingerprint and matrix.fingerprint != fingerprint:
        raise MatrixError(
            "this matrix was built with another tokenizer vocabulary "
            f"({matrix.fingerprint[:12]} != {fingerprint[:12]}); start a fresh one"
        )
    if matrix.vocab_size != vocab_size:
        raise MatrixError(f"matrix has {matrix.vocab_size} rows, the model {vocab_size} logits")
    if matrix.k != k:
        raise MatrixError(f"matrix keeps k={matrix.k} candidates, the config asks for k={k}")


def vocab_fingerprint(vocab: dict[str, int], vocab_size: int) -> str:
    """A stable hash of a tokenizer vocabulary (token -> id) and the logits width."""
    h = hashlib.sha256(str(vocab_size).encode())
    for tok, i in sorted(vocab.items(), key=lambda kv: kv[1]):
        h.update(f"{i}\t{tok}\n".encode("utf-8", "surrogatepass"))
    return h.hexdigest()


# ----- the two verbs ----------------------------------------------------------------------------


def draft(
    table: torch.Tensor,
    root: torch.Tensor,
    parents: torch.Tensor,
    ranks: torch.Tensor,
    layers: tuple[tuple[int, int], ...],
) -> torch.Tensor:
    """Fill a tree template breadth-first: one gather per depth level.

    table ``[V, k]``, root ``[]`` (token id), parents/ranks ``[S]`` (root at 0).
    Returns tokens ``[S]`` (int64); a node whose parent row was never written gets ``-1``.
    """
    tokens = torch.empty(parents.shape[0], dtype=torch.long, device=table.device)
    tokens[0] = root
    for start, stop in layers:
        par = tokens[parents[start:stop]]
        # An unwritten (-1) parent keeps its children unwritten too.
        tokens[start:stop] = torch.where(
            par >= 0, table[par.clamp_min(0), ranks[start:stop]].long(), UNWRITTEN
        )
    return tokens


def update(
    table: torch.Tensor, tokens: torch.Tensor, candidates: torch.Tensor, winners: torch.Tensor
) -> None:
    """Recycle: ``table[tokens[w]] = candidates[w]`` for every winning node ``w``.

    tokens ``[S]``, candidates ``[S, k]`` (top-k ids of each node's logits), winners ``[S]`` bool
    from :func:`write_winners` (one winner per distinct token, so the write is deterministic).
    """
    table[tokens[winners]] = candidates[winners].to(table.dtype)


def write_winners(
    tokens: torch.Tensor, on_path: torch.Tensor, depths: torch.Tensor
) -> torch.Tensor:
    """Which node writes each distinct token's row (rule in the module docstring). ``[S]`` bool."""
    s = tokens.shape[0]
    order = torch.arange(s, device=tokens.device, dtype=torch.float32)
    key = torch.where(on_path, -1.0 - depths.float(), order)  # lower key wins
    same = tokens[:, None] == tokens[None, :]
    best = torch.where(same, key[None, :], torch.inf).amin(1)
    return (key == best) & (tokens >= 0)


def seed_rows(table: torch.Tensor, ids: torch.Tensor, logits: torch.Tensor) -> None:
    """Write the rows of the prompt's tokens ``ids [L]`` from their prefill ``logits [L, V]``
    (``TRConfig.seed_from_prompt``); a token occurring twice keeps its latest occurrence's row."""
    candidates = logits.topk(table.shape[1], dim=-1).indices
    positions = torch.arange(ids.shape[0], device=ids.device)
    latest = write_winners(ids, torch.ones_like(ids, dtype=torch.bool), positions)
    update(table, ids, candidates, latest)
