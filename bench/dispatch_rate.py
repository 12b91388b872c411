"""Figure 1: how fast jobs can be started — ``dispatch()`` against the raw SDK's
``client.start_activity`` (the same Temporal primitive, a standalone activity, with nothing
around it: no registry, no validation, the SDK's default converter).

No worker runs: this times only the start call (client work + one server round trip that
persists the job). Each round uses a throwaway task queue nobody polls, so the started
jobs just wait; the benchmark's in-memory dev server is discarded with them at the end of
the figure, which is the clean-up.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from temporalio.client import Client

from bench._jobs import DISPATCH_CONCURRENCY, RAW_ACTIVITY_TIMEOUT
from bench._processes import cpu_seconds
from bench._report import Row, Samples, alternate, compare
from bench.options import BenchOptions
from core.client import connect
from core.dispatch import dispatch

FIGURE = "1 dispatch rate"


async def _starts(n: int, concurrency: int, start: Callable[[str], Awaitable[Any]]) -> float:
    """Start ``n`` jobs, ``concurrency`` at a time; wall seconds."""
    queue = f"bench-nobody-{uuid.uuid4().hex[:8]}"
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            await start(queue)

    began = time.monotonic()
    await asyncio.gather(*(one() for _ in range(n)))
    return time.monotonic() - began


def _side(
    n: int, concurrency: int, start: Callable[[str], Awaitable[Any]], server_pid: int
) -> Callable[[], Awaitable[dict[str, float]]]:
    async def run() -> dict[str, float]:
        server_before = cpu_seconds(server_pid)
        client_before = time.process_time()
        wall = await _starts(n, concurrency, start)
        return {
            "starts_per_s": n / wall,
            "client_cpu_ms_per_start": (time.process_time() - client_before) / n * 1000,
            "server_cpu_ms_per_start": (cpu_seconds(server_pid) - server_before) / n * 1000,
        }

    return run


async def run(address: str, server_pid: int, options: BenchOptions) -> list[Row]:
    """Sequential and concurrent starts, Lanes and raw alternating."""
    lanes_client = await connect(target_host=address)
    raw_client = await Client.connect(address)

    async def lanes_start(queue: str) -> Any:
        return await dispatch("lanes.ping", task_queue=queue, client=lanes_client)

    async def raw_start(queue: str) -> Any:
        return await raw_client.start_activity(
            "raw.noop",
            id=f"raw-{uuid.uuid4()}",
            task_queue=queue,
            start_to_close_timeout=RAW_ACTIVITY_TIMEOUT,
        )

    await _starts(10, 10, lanes_start)  # warm-up: connections, imports, server caches
    await _starts(10, 10, raw_start)
    rows: list[Row] = []
    for label, concurrency in (("sequential", 1), (f"concurrent {DISPATCH_CONCURRENCY}", 50)):
        n = options.dispatch_n if concurrency == 1 else options.dispatch_n * 2
        print(f"  {label}: {n} starts per side per round", flush=True)
        samples: Samples = await alternate(
            options.rounds,
            {
                "lanes": _side(n, concurrency, lanes_start, server_pid),
                "raw": _side(n, concurrency, raw_start, server_pid),
            },
        )
        for metric, unit in (
            ("starts_per_s", "starts/s"),
            ("client_cpu_ms_per_start", "ms CPU"),
            ("server_cpu_ms_per_start", "ms CPU"),
        ):
            row = compare(
                FIGURE,
                samples,
                metric,
                unit,
                other="raw",
                other_label="raw SDK start_activity",
                note=f"{label}, N={n}",
            )
            row.metric = f"{label} {metric}"
            rows.append(row)
    return rows
