"""Bursts of no-op jobs through each side, timed the same way.

A burst sends N jobs as fast as the client can (at most :data:`DISPATCH_CONCURRENCY` starts in
flight) and waits for every result (at most :data:`RESULT_CONCURRENCY` awaited at once: the dev
server allows ~1,200 long polls per namespace and fails the rest with "namespace concurrent poller
limit exceeded"). Per job, latency is result time minus dispatch time, so it includes queueing
behind the rest of the burst: it is latency *under load*, not a lone job's round trip.

Throughput is N divided by the wall time from the first dispatch to the last result.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from temporalio.client import Client, WorkflowHandle

from bench._processes import cpu_seconds
from bench._report import percentile
from core.dispatch import dispatch

__all__ = [
    "DISPATCH_CONCURRENCY",
    "RESULT_CONCURRENCY",
    "Burst",
    "celery_burst",
    "celery_lone",
    "history_size",
    "lanes_burst",
    "measured",
    "raw_activity_burst",
    "raw_burst",
]

RAW_ACTIVITY_TIMEOUT = timedelta(seconds=30)
"""The raw side's start-to-close timeout: ``lanes.ping``'s own."""

DISPATCH_CONCURRENCY = 50
RESULT_CONCURRENCY = 200

Burst = tuple[list[float], float, list[Any]]
"""Latencies in seconds, wall seconds, and the handles (to fetch a few histories)."""


async def _burst(
    n: int, start: Callable[[], Awaitable[Any]], wait: Callable[[Any], Awaitable[Any]]
) -> tuple[list[float], float, list[Any]]:
    starting = asyncio.Semaphore(DISPATCH_CONCURRENCY)
    waiting = asyncio.Semaphore(RESULT_CONCURRENCY)

    async def one() -> tuple[float, Any]:
        async with starting:
            sent = time.monotonic()
            job = await start()
        async with waiting:
            await wait(job)
        return time.monotonic() - sent, job

    began = time.monotonic()
    done = await asyncio.gather(*(one() for _ in range(n)))
    wall = time.monotonic() - began
    return [latency for latency, _ in done], wall, [job for _, job in done]


async def _lone(
    n: int, start: Callable[[], Awaitable[Any]], wait: Callable[[Any], Awaitable[Any]]
) -> tuple[list[float], float, list[Any]]:
    """One job at a time: each latency is a lone job's round trip, with no queue to wait in."""
    latencies, jobs = [], []
    began = time.monotonic()
    for _ in range(n):
        sent = time.monotonic()
        job = await start()
        await wait(job)
        latencies.append(time.monotonic() - sent)
        jobs.append(job)
    return latencies, time.monotonic() - began, jobs


async def lanes_burst(
    client: Client,
    n: int,
    task_queue: str,
    options: dict[str, Any] | None = None,
    *,
    lone: bool = False,
) -> Burst:
    """N ``lanes.ping`` jobs through :func:`core.dispatch.dispatch`."""

    async def start() -> Any:
        return await dispatch("lanes.ping", task_queue=task_queue, options=options, client=client)

    async def wait(job: Any) -> Any:
        return await job.result()

    latencies, wall, jobs = await (_lone if lone else _burst)(n, start, wait)
    return latencies, wall, [job.handle for job in jobs]


async def raw_burst(client: Client, n: int, task_queue: str, *, lone: bool = False) -> Burst:
    """N ``RawPingWorkflow`` runs through the SDK's ``start_workflow``."""

    async def start() -> WorkflowHandle[Any, Any]:
        return await client.start_workflow(
            "RawPingWorkflow", id=f"raw-{uuid.uuid4()}", task_queue=task_queue
        )

    async def wait(handle: WorkflowHandle[Any, Any]) -> Any:
        return await handle.result()

    return await (_lone if lone else _burst)(n, start, wait)


async def raw_activity_burst(
    client: Client, n: int, task_queue: str, *, lone: bool = False
) -> Burst:
    """N ``raw.noop`` standalone activities through the SDK's ``start_activity``."""

    async def start() -> Any:
        return await client.start_activity(
            "raw.noop",
            id=f"raw-{uuid.uuid4()}",
            task_queue=task_queue,
            start_to_close_timeout=RAW_ACTIVITY_TIMEOUT,
        )

    async def wait(handle: Any) -> Any:
        return await handle.result()

    return await (_lone if lone else _burst)(n, start, wait)


def celery_lone(n: int) -> list[float]:
    """N Celery tasks one at a time, each timed at the client from send to result."""
    from bench._workers import CELERY_QUEUE
    from bench.celery_app import noop

    latencies = []
    for _ in range(n):
        sent = time.monotonic()
        noop.apply_async(queue=CELERY_QUEUE).get(timeout=60)
        latencies.append(time.monotonic() - sent)
    return latencies


def celery_burst(n: int) -> tuple[list[float], float]:
    """N Celery ``noop`` tasks: send them all, then collect results as they arrive.

    Celery's client is synchronous, so sends are sequential (a few hundred microseconds each).
    Per-task latency is the worker's ``date_done`` minus the send time: when the result was stored
    in Redis, which leaves out the last hop to the client (a slight advantage to Celery).
    """
    from celery.result import ResultSet

    from bench._workers import CELERY_QUEUE
    from bench.celery_app import noop

    sent: dict[str, float] = {}
    began = time.monotonic()
    results = []
    for _ in range(n):
        sent_at = time.time()
        result = noop.apply_async(queue=CELERY_QUEUE)
        sent[result.id] = sent_at
        results.append(result)
    ResultSet(results).join_native(timeout=600, propagate=True)
    wall = time.monotonic() - began
    latencies = []
    for result in results:
        done: datetime = result.date_done
        if done.tzinfo is None:
            done = done.replace(tzinfo=UTC)
        latencies.append(done.timestamp() - sent[result.id])
    return latencies, wall


async def measured(
    n: int, run: Callable[[], Awaitable[tuple[list[float], float]]], pids: dict[str, int]
) -> dict[str, float]:
    """Run one burst and report throughput, latency and CPU per job of each process in ``pids``."""
    before = {name: cpu_seconds(pid) for name, pid in pids.items()}
    client_before = time.process_time()
    latencies, wall = await run()
    client_cpu = time.process_time() - client_before
    metrics = {
        "jobs_per_s": n / wall,
        "p50_ms": percentile(latencies, 0.5) * 1000,
        "p99_ms": percentile(latencies, 0.99) * 1000,
        "client_cpu_ms_per_job": client_cpu / n * 1000,
    }
    for name, pid in pids.items():
        metrics[f"{name}_cpu_ms_per_job"] = (cpu_seconds(pid) - before[name]) / n * 1000
    return metrics


async def history_size(handles: list[Any]) -> dict[str, float]:
    """Mean events and bytes (serialised protobuf) of these workflows' histories; nothing for
    standalone activities, which have no workflow history."""
    handles = [h for h in handles if isinstance(h, WorkflowHandle)]
    if not handles:
        return {}
    events = 0
    size = 0
    for handle in handles:
        history = await handle.fetch_history()
        events += len(history.events)
        size += sum(event.ByteSize() for event in history.events)
    count = max(1, len(handles))
    return {"history_events": events / count, "history_bytes": size / count}
