"""Figure 7: bulk ``dispatch_many`` against Celery, and the local-activity fast path against the
standard path, all four sides alternating in the same rounds.

- bulk: ``dispatch_many("lanes.ping", [None] * N)`` (batches of 500 jobs, run as local activities
  in ``BatchWorkflow``), then every job's result;
- fast path: N separate ``dispatch`` calls with ``options={"local": True}`` on the workflow engine
  (``LANES_DISPATCH_MODE=workflow``: the fast path exists only there);
- standard: the same N ``dispatch`` calls on the workflow engine's normal path (one activity task
  per job);
- Celery: the same N no-op tasks, NON-DURABLE (a killed worker loses its task).
"""

from __future__ import annotations

import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from bench._jobs import celery_burst, lanes_burst
from bench._processes import cpu_seconds
from bench._report import Row, alternate, compare
from bench._stack import LANES_QUEUE, Stack
from bench.options import BenchOptions
from core.dispatch import dispatch_many
from core.settings import settings

FIGURE = "7 bulk & fast path"
BATCH_SIZE = 500


async def _bulk_round(stack: Stack, n: int) -> dict[str, float]:
    began = time.monotonic()
    bulk = await dispatch_many(
        "lanes.ping",
        [None] * n,
        task_queue=LANES_QUEUE,
        batch_size=BATCH_SIZE,
        options={"local": True},
        concurrency=100,
        client=stack.lanes_client,
    )
    results = await bulk.results()
    wall = time.monotonic() - began
    if len(results) != n or not all(r.ok for r in results):
        raise RuntimeError(f"bulk dispatch lost or failed jobs: {len(results)} results for {n}")
    return {"jobs_per_s": n / wall}


@contextmanager
def _workflow_engine() -> Iterator[None]:
    """Dispatch as ``SingleActivityWorkflow`` meanwhile (a caller setting, not a worker one)."""
    before = os.environ.get("LANES_DISPATCH_MODE")
    os.environ["LANES_DISPATCH_MODE"] = "workflow"
    settings.cache_clear()
    try:
        yield
    finally:
        if before is None:
            os.environ.pop("LANES_DISPATCH_MODE", None)
        else:
            os.environ["LANES_DISPATCH_MODE"] = before
        settings.cache_clear()


async def _path_round(stack: Stack, n: int, local: bool) -> dict[str, float]:
    server, worker = cpu_seconds(stack.server_pid), cpu_seconds(stack.lanes.process.pid)
    with _workflow_engine():
        _, wall, handles = await lanes_burst(stack.lanes_client, n, LANES_QUEUE, {"local": local})
    history = await handles[0].fetch_history()
    return {
        "jobs_per_s": n / wall,
        # Where the time goes: the server's work per job is what the fast path can cut.
        "server_cpu_ms_per_job": (cpu_seconds(stack.server_pid) - server) / n * 1000,
        "worker_cpu_ms_per_job": (cpu_seconds(stack.lanes.process.pid) - worker) / n * 1000,
        "history_events": float(len(history.events)),
    }


async def _celery_round(n: int) -> dict[str, float]:
    _, wall = celery_burst(n)
    return {"jobs_per_s": n / wall}


async def run(stack: Stack, options: BenchOptions) -> list[Row]:
    n = options.e2e_n[0]
    bulk_n = n if options.mode.startswith("tiny") else max(n, 4 * BATCH_SIZE)
    label = f"Celery {options.celery_pool} x{options.celery_concurrency} NON-DURABLE"
    sides: dict[str, Any] = {
        "bulk": lambda: _bulk_round(stack, bulk_n),
        "celery": lambda: _celery_round(bulk_n),
        "fast": lambda: _path_round(stack, n, local=True),
        "standard": lambda: _path_round(stack, n, local=False),
    }
    print(f"  bulk vs Celery: {bulk_n} jobs; fast vs standard path: {n} jobs", flush=True)
    samples = await alternate(options.rounds, sides)
    bulk = compare(
        FIGURE,
        samples,
        "jobs_per_s",
        "jobs/s",
        lanes="bulk",
        other="celery",
        other_label=label,
        note=f"N={bulk_n}, batches of {BATCH_SIZE}, durable",
    )
    bulk.metric = "dispatch_many jobs_per_s"
    fast = compare(
        FIGURE,
        samples,
        "jobs_per_s",
        "jobs/s",
        lanes="fast",
        other="standard",
        other_label="Lanes standard path",
        note=f"N={n}, one workflow per job (LANES_DISPATCH_MODE=workflow)",
    )
    fast.metric = "local fast path jobs_per_s"
    rows = [bulk, fast]
    for metric, unit in (
        ("server_cpu_ms_per_job", "ms CPU"),
        ("worker_cpu_ms_per_job", "ms CPU"),
        ("history_events", "events"),
    ):
        row = compare(
            FIGURE,
            samples,
            metric,
            unit,
            lanes="fast",
            other="standard",
            other_label="Lanes standard path",
        )
        row.metric = f"local fast path {metric}"
        rows.append(row)
    return rows
