"""What one Token Recycling step costs on a device, by tokens per forward ``q`` AND context length.

A forward over ``q`` new tokens after a cache of ``L`` tokens costs more with both: the MLP grows
with ``q``, attention with ``q x L`` (on this project's 2-core CPU, fp32, a 22-token forward costs
1.7x a one-token forward at L = 256 but 2.7x at L = 2,600). A :class:`CostModel` holds measured
forward seconds on a ``(L, q)`` grid plus the per-step overhead outside the forward, and
interpolates (linearly in ``q`` and in ``L``; linear extrapolation past the grid). The per-step
budget (:mod:`trviz.budget`) weighs each step's expected tokens against it.

Where a model comes from (:func:`trviz.run.choose_cost` resolves it):
``trviz bench --sweep-trees`` measures the grid on your machine and caches it; without a cached
sweep, :data:`BUILTIN` holds grids measured on this project's machine (CPU fp32 and bf16:
``python benchmarks/cost_grid.py``) and a flat-then-linear curve for CUDA, where a forward over
dozens of tokens costs about what one token costs. Only ratios matter to the budget, so a table
measured on another machine of the same kind still ranks trees sensibly. Stdlib only.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from trviz.errors import ConfigError


@dataclass(frozen=True)
class CostModel:
    """Forward seconds ``seconds[i][j]`` at context length ``lens[i]`` and ``qs[j]`` new tokens,
    plus per-step overhead ``overhead_s[0] + overhead_s[1] * q`` (drafting, verification,
    compaction, update). ``source`` says where the figures come from."""

    qs: tuple[int, ...]
    lens: tuple[int, ...]
    seconds: tuple[tuple[float, ...], ...]
    overhead_s: tuple[float, float] = (0.0, 0.0)
    source: str = "custom"

    def __post_init__(self) -> None:
        if not self.qs or self.qs[0] != 1 or list(self.qs) != sorted(set(self.qs)):
            raise ConfigError("cost model: qs must be ascending, distinct and start at 1")
        if not self.lens or list(self.lens) != sorted(set(self.lens)):
            raise ConfigError("cost model: lens must be ascending and distinct")
        if len(self.seconds) != len(self.lens) or any(len(r) != len(self.qs) for r in self.seconds):
            raise ConfigError("cost model: seconds must be a [len(lens)][len(qs)] grid")
        if any(not s > 0 for row in self.seconds for s in row):
            raise ConfigError("cost model: every forward time must be positive")

    def forward_s(self, q: int, context: int) -> float:
        """Interpolated seconds of one forward over ``q`` tokens after ``context`` tokens."""
        i, wl = _bracket(self.lens, context)
        j, wq = _bracket(self.qs, q)
        rows = self.seconds
        lo = rows[i][j] + wq * (rows[i][j + 1] - rows[i][j]) if len(self.qs) > 1 else rows[i][0]
        if len(self.lens) == 1:
            return max(lo, 1e-9)
        r2 = rows[i + 1]
        hi = r2[j] + wq * (r2[j + 1] - r2[j]) if len(self.qs) > 1 else r2[0]
        return max(lo + wl * (hi - lo), 1e-9)

    def step_costs(self, context: int, q_max: int) -> list[float]:
        """Seconds of a whole step for ``q = 1..q_max`` tokens per forward, at ``context``."""
        a, b = self.overhead_s
        return [self.forward_s(q, context) + a + b * q for q in range(1, q_max + 1)]

    def relative(self, q: int, context: int) -> float:
        """Step cost at ``q`` over the cost of a one-token step, at ``context``."""
        a, b = self.overhead_s
        one = self.forward_s(1, context) + a + b
        return (self.forward_s(q, context) + a + b * q) / one

    def to_dict(self) -> dict[str, Any]:
        return {
            "qs": list(self.qs),
            "lens": list(self.lens),
            "seconds": [list(r) for r in self.seconds],
            "overhead_s": list(self.overhead_s),
            "source": self.source,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any], source: str | None = None) -> CostModel:
        return cls(
            tuple(int(q) for q in d["qs"]),
            tuple(int(n) for n in d["lens"]),
            tuple(tuple(float(s) for s in row) for row in d["seconds"]),
            tuple(float(x) for x in d.get("overhead_s", (0.0, 0.0))),  # type: ignore[arg-type]
            source or d.get("source", "custom"),
        )


def _bracket(grid: Sequence[int], x: float) -> tuple[int, float]:
    """``(i, w)``: ``x`` lies at ``grid[i] + w * (grid[i+1] - grid[i])`` (``w`` may fall outside
    0..1 past either end: linear extrapolation). A one-point grid gives ``(0, 0.0)``."""
    if len(grid) == 1:
        return 0, 0.0
    i = min(max(bisect_right(grid, x) - 1, 0), len(grid) - 2)
    return i, (x - grid[i]) / (grid[i + 1] - grid[i])


def bilinear(coef: tuple[float, float, float, float], overhead: tuple[float, float], source: str):
    """The model ``a + b*q + c*L + d*q*L`` seconds (``coef = (a, b, c, d)``) as a 2 x 2 grid
    (bilinear interpolation of a bilinear function is exact, and so is extrapolation)."""
    a, b, c, d = coef
    qs, lens = (1, 128), (64, 4096)
    rows = tuple(tuple(a + b * q + c * n + d * q * n for q in qs) for n in lens)
    return CostModel(qs, lens, rows, overhead, source)


def flat_then_linear(flat_until: int, slope: float, source: str) -> CostModel:
    """A curve for hardware where a forward is nearly free up to ``flat_until`` tokens (a GPU:
    memory-bound decoding), then grows by ``slope`` one-token costs per extra token."""
    qs = (1, flat_until, 4 * flat_until)
    row = (1.0, 1.0, 1.0 + slope * 3 * flat_until)
    return CostModel(qs, (256,), (row,), (0.0, 0.0), source)


# Built-in curves, by (device type, dtype name). CPU: a + b*q + c*L + d*q*L fitted (least squares)
# to the median forward times measured on this project's 2-core CPU over q = 1..128 and
# L = 64..4,096 (`python benchmarks/cost_grid.py`, docs/benchmarks.md), plus the per-step overhead
# measured with the budget on. GPU: flat to 64 tokens, then one more one-token cost per 64 tokens
# (decoding is memory-bound there; `trviz bench --sweep-trees` measures your own).
BUILTIN: dict[tuple[str, str], CostModel] = {
    ("cpu", "float32"): bilinear(
        (1.187e-01, 1.886e-03, 2.475e-05, 6.974e-07), (1.5e-3, 2e-5), "built-in table (cpu, fp32)"
    ),
    ("cpu", "bfloat16"): bilinear(
        (7.435e-02, 6.350e-04, 1.467e-05, 2.211e-07), (1.5e-3, 2e-5), "built-in table (cpu, bf16)"
    ),
}
BUILTIN[("cpu", "float16")] = BUILTIN[("cpu", "bfloat16")]
GPU_CURVE = flat_then_linear(64, 1 / 64, "built-in curve (gpu: flat to 64 tokens)")
