"""Figure 7: the lead's bulk ``dispatch_many`` and the local-activity fast path, against Celery.

Both hook into APIs being finished in core right now, so each row is measured only when the API
exists in this build and is otherwise printed as "skipped" (nothing is simulated):

- bulk: ``core.dispatch.dispatch_many("lanes.ping", [None] * N, task_queue=...)`` then
  ``await batch.results()``; adapt :func:`_bulk_round` when the API settles;
- fast path: ``dispatch(..., options={"local": True})`` when ``ActivityOptions`` has ``local``.
"""

from __future__ import annotations

import time
from typing import Any

from core import dispatch as dispatch_module
from core.activities import ActivityOptions

from bench._jobs import celery_burst, lanes_burst
from bench._report import Row, alternate, compare
from bench._stack import LANES_QUEUE, Stack
from bench.options import BenchOptions

FIGURE = "7 bulk & fast path"


def _skipped(metric: str, why: str) -> Row:
    return Row(FIGURE, metric, "-", None, note=f"skipped: {why}")


async def _bulk_round(stack: Stack, n: int) -> dict[str, float]:
    dispatch_many: Any = dispatch_module.dispatch_many  # type: ignore[attr-defined]
    began = time.monotonic()
    # The process's default client points at the benchmark's server (see bench.__main__).
    batch = await dispatch_many("lanes.ping", [None] * n, task_queue=LANES_QUEUE)
    await batch.results()
    return {"jobs_per_s": n / (time.monotonic() - began)}


async def _fast_round(stack: Stack, n: int) -> dict[str, float]:
    _, wall, _ = await lanes_burst(stack.lanes_client, n, LANES_QUEUE, {"local": True})
    return {"jobs_per_s": n / wall}


async def _celery_round(n: int) -> dict[str, float]:
    _, wall = celery_burst(n)
    return {"jobs_per_s": n / wall}


async def run(stack: Stack, options: BenchOptions) -> list[Row]:
    n = options.e2e_n[0]
    label = f"Celery {options.celery_pool} x{options.celery_concurrency} NON-DURABLE"
    sides: dict[str, Any] = {}
    rows: list[Row] = []
    if hasattr(dispatch_module, "dispatch_many"):
        sides["bulk"] = lambda: _bulk_round(stack, n)
    else:
        rows.append(
            _skipped("dispatch_many jobs_per_s", "core.dispatch.dispatch_many not in this build")
        )
    if "local" in ActivityOptions.model_fields:
        sides["fast"] = lambda: _fast_round(stack, n)
    else:
        rows.append(_skipped("local fast path jobs_per_s", "ActivityOptions has no `local` field"))
    if not sides:
        return rows
    sides["celery"] = lambda: _celery_round(n)
    print(f"  bulk/fast path: {n} jobs per side per round", flush=True)
    samples = await alternate(options.rounds, sides)
    for side, metric in (
        ("bulk", "dispatch_many jobs_per_s"),
        ("fast", "local fast path jobs_per_s"),
    ):
        if side in samples:
            row = compare(
                FIGURE,
                samples,
                "jobs_per_s",
                "jobs/s",
                lanes=side,
                other="celery",
                other_label=label,
                note=f"N={n}",
            )
            row.metric = metric
            rows.append(row)
    return rows
