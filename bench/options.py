"""The sizes a run uses: ``--quick`` (the default), ``--full``, or a tiny ``--n`` smoke run."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["FIGURES", "BenchOptions"]

FIGURES = ("dispatch", "e2e", "steps", "startup", "tracing", "bulk")
"""Figure modules, in the order they run (Celery rows come with ``e2e``)."""


@dataclass
class BenchOptions:
    """Everything that sizes a run; written into the JSON beside the results."""

    mode: str = "quick"
    rounds: int = 3
    """Alternating rounds per comparison (A, B, A, B, ...); medians are over these."""
    dispatch_n: int = 300
    """Sequential starts per side per round (the concurrent case uses twice as many)."""
    e2e_n: list[int] = field(default_factory=lambda: [500])
    """Burst sizes of the end-to-end figure; the growth figure compares them."""
    steps: list[int] = field(default_factory=lambda: [100, 1000])
    """Sequential activities in one workflow."""
    steps_rounds_long: int = 1
    """Rounds for step counts of 1,000 and more (each takes tens of seconds per side)."""
    startup_rounds: int = 2
    idle_seconds: float = 2.0
    """How long a freshly started worker idles before its memory is read."""
    celery_pool: str = "threads"
    """Threads beat prefork for no-op tasks here: 250-305 tasks/s against 163-211 (prefork x2)
    and 268-389 (prefork x4) with a far lower p50, on the 2-core machine; ``--celery-pool``."""
    celery_concurrency: int = 8
    figures: tuple[str, ...] = FIGURES

    @classmethod
    def quick(cls) -> BenchOptions:
        return cls()

    @classmethod
    def full(cls) -> BenchOptions:
        return cls(
            mode="full",
            rounds=5,
            dispatch_n=500,
            e2e_n=[500, 2000],
            steps_rounds_long=3,
            startup_rounds=5,
        )

    @classmethod
    def tiny(cls, n: int) -> BenchOptions:
        """Every figure with ``n`` jobs: proves the harness end to end, measures little."""
        return cls(
            mode=f"tiny (--n {n})",
            rounds=2,
            dispatch_n=n,
            e2e_n=[n],
            steps=[max(5, n // 5)],
            startup_rounds=1,
            idle_seconds=0.5,
        )

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)
