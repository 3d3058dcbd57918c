"""Run statistics: plain numbers, stdlib only."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

PHASES = ("draft", "forward", "verify", "compact", "update")


@dataclass
class Stats:
    """Totals of one generation.

    ``mat`` (mean accepted tokens) = new tokens / target forwards after prefill: plain greedy
    decoding scores 1.0. ``tokens_per_s`` counts the prefill in the time, as Spec-Bench does.
    ``phase_s`` sums per-phase seconds over steps (present when timings were recorded).
    ``verified`` counts the tokens the steps' forwards verified (root + drafted nodes).
    """

    new_tokens: int = 0
    steps: int = 0
    prompt_tokens: int = 0
    wall_s: float = 0.0
    prefill_s: float = 0.0
    phase_s: dict[str, float] = field(default_factory=dict)
    verified: int = 0

    @property
    def mat(self) -> float:
        return self.new_tokens / self.steps if self.steps else 0.0

    @property
    def tokens_per_forward(self) -> float:
        """Tokens verified per target forward (the tree size; with the budget, its mean)."""
        return self.verified / self.steps if self.steps else 0.0

    @property
    def tokens_per_s(self) -> float:
        return self.new_tokens / self.wall_s if self.wall_s > 0 else 0.0

    @property
    def overhead_fraction(self) -> float:
        """Share of step time spent outside the model forward (draft+verify+compact+update)."""
        total = sum(self.phase_s.values())
        if not total:
            return 0.0
        return 1.0 - self.phase_s.get("forward", 0.0) / total

    def to_dict(self) -> dict:
        d = asdict(self)
        d.update(mat=self.mat, tokens_per_s=self.tokens_per_s)
        return d

    def __repr__(self) -> str:
        return (
            f"Stats(new_tokens={self.new_tokens}, steps={self.steps}, MAT={self.mat:.2f}, "
            f"tokens/s={self.tokens_per_s:.1f}, wall={self.wall_s:.2f}s)"
        )
