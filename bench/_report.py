"""Rows, medians, alternation, and the table and JSON every figure ends in.

A comparison is never two separate runs: :func:`alternate` runs side A, side B, A, B ... for R
rounds on the same server, so a burst of load from elsewhere on the machine lands on both sides,
and each figure reports the median of the rounds and the ratio of the medians.
"""

from __future__ import annotations

import json
import platform
import statistics
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

__all__ = ["Row", "Samples", "alternate", "median", "percentile", "print_row", "write_json"]

Samples = dict[str, dict[str, list[float]]]
"""side -> metric -> one value per round."""


@dataclass
class Row:
    """One line of the table: a metric for Lanes, optionally against another side."""

    figure: str
    metric: str
    unit: str
    lanes: float | None
    other: float | None = None
    other_label: str = ""
    note: str = ""
    rounds: dict[str, list[float]] = field(default_factory=dict)
    """The per-round values behind the medians, by side."""

    @property
    def ratio(self) -> float | None:
        """Lanes / other, when both exist."""
        if self.lanes is None or not self.other:
            return None
        return self.lanes / self.other


def median(values: list[float]) -> float | None:
    return statistics.median(values) if values else None


def percentile(values: list[float], q: float) -> float:
    """The ``q`` quantile (0..1) by nearest rank: p99 of 500 values is the 495th."""
    ordered = sorted(values)
    rank = max(1, round(q * len(ordered)))
    return ordered[min(rank, len(ordered)) - 1]


async def alternate(
    rounds: int, sides: Mapping[str, Callable[[], Awaitable[dict[str, float]]]]
) -> Samples:
    """Run every side once per round, in turn, and collect each metric per side."""
    samples: Samples = {name: {} for name in sides}
    for index in range(rounds):
        for name, run in sides.items():
            metrics = await run()
            for key, value in metrics.items():
                samples[name].setdefault(key, []).append(value)
            shown = ", ".join(f"{k}={v:.4g}" for k, v in metrics.items())
            print(f"    round {index + 1}/{rounds} {name}: {shown}", flush=True)
    return samples


def compare(
    figure: str,
    samples: Samples,
    metric: str,
    unit: str,
    *,
    lanes: str = "lanes",
    other: str | None = None,
    other_label: str = "",
    note: str = "",
) -> Row:
    """A row comparing the medians of ``metric`` between two sides of ``samples``."""
    a = samples.get(lanes, {}).get(metric, [])
    b = samples.get(other, {}).get(metric, []) if other else []
    rounds = {lanes: a} | ({other: b} if other else {})
    return Row(figure, metric, unit, median(a), median(b), other_label, note, rounds)


def _fmt(value: float | None) -> str:
    if value is None:
        return "-"
    if abs(value) >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if abs(value) < 10 else f"{value:.1f}"


HEADER = f"{'figure':<22} {'metric':<38} {'unit':<10} {'Lanes':>9} {'other':>9} {'ratio':>6}  vs"


def print_row(row: Row) -> None:
    """Print one table row (and its note) as soon as it is known."""
    ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
    print(
        f"{row.figure:<22} {row.metric:<38} {row.unit:<10} {_fmt(row.lanes):>9} "
        f"{_fmt(row.other):>9} {ratio:>6}  {row.other_label}"
        + (f"  [{row.note}]" if row.note else ""),
        flush=True,
    )


def markdown_table(rows: list[Row]) -> str:
    """The rows as a Markdown table, for docs/performance.md."""
    lines = [
        "| figure | metric | unit | Lanes | other | Lanes/other | other is | note |",
        "|---|---|---|---:|---:|---:|---|---|",
    ]
    for row in rows:
        ratio = f"{row.ratio:.2f}" if row.ratio is not None else "-"
        lines.append(
            f"| {row.figure} | {row.metric} | {row.unit} | {_fmt(row.lanes)} | "
            f"{_fmt(row.other)} | {ratio} | {row.other_label} | {row.note} |"
        )
    return "\n".join(lines)


def write_json(rows: list[Row], path: Path, settings: dict[str, Any]) -> None:
    """Every row, the per-round values and the run's settings and machine, as JSON."""
    path.parent.mkdir(parents=True, exist_ok=True)
    document = {
        "when": datetime.now(UTC).isoformat(timespec="seconds"),
        "machine": {
            "cpus": psutil.cpu_count(),
            "python": platform.python_version(),
            "platform": platform.platform(),
            "load_average": list(psutil.getloadavg()),
        },
        "settings": settings,
        "rows": [asdict(row) | {"ratio": row.ratio} for row in rows],
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
