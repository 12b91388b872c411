"""Figures 2, 3 and 6a: N no-op jobs end to end — Lanes, the raw SDK, and Celery.

- Lanes: ``dispatch("lanes.ping")`` to a real ``lanes worker --queues sync`` subprocess (one
  standalone activity per job: durable, retried by its policy, visible in the UI).
- Raw SDK workflow: ``start_workflow("RawPingWorkflow")`` to ``bench.raw_worker``: one workflow
  running one activity, what a team would write to get a durable job without standalone
  activities (and what ``dispatch`` ran before).
- Raw SDK activity: ``start_activity("raw.noop")`` to the same raw worker: the primitive
  ``dispatch`` now uses, with nothing around it.
- Celery: ``noop.apply_async()`` to a Celery worker with Redis as broker and backend. NOT durable:
  a killed worker loses its task.

The three run in turn, round after round, on the same machine and server. CPU per job is the
growth of each process's CPU time over a round divided by N; "server" is the Temporal dev server
for Lanes and raw, and the Redis server for Celery (a machine service other programs may use too).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from bench._jobs import (
    celery_burst,
    celery_lone,
    history_size,
    lanes_burst,
    measured,
    raw_activity_burst,
    raw_burst,
)
from bench._report import Row, alternate, compare, percentile
from bench._stack import LANES_QUEUE, Stack
from bench.options import BenchOptions

HISTORIES_SAMPLED = 3
LONE_JOBS = 20
"""Jobs run one at a time after each burst: the latency of a job with no queue in front of it."""


async def warm_up(stack: Stack) -> None:
    """A few jobs per side: imports, caches, connections, and proof each worker answers."""
    from bench._workers import CELERY_QUEUE
    from bench.celery_app import noop

    await lanes_burst(stack.lanes_client, 20, LANES_QUEUE)
    await raw_burst(stack.raw_client, 20, stack.raw_queue)
    await raw_activity_burst(stack.raw_client, 20, stack.raw_queue)
    noop.apply_async(queue=CELERY_QUEUE).get(timeout=120)
    celery_burst(20)


async def run(stack: Stack, options: BenchOptions) -> list[Row]:
    """Every burst size in ``options.e2e_n``; rows for figure 2 and 3 at each."""
    await warm_up(stack)
    rows: list[Row] = []
    for n in options.e2e_n:
        rows += await _one_size(stack, options, n)
    return rows


async def _one_size(stack: Stack, options: BenchOptions, n: int) -> list[Row]:
    print(f"  end to end: {n} jobs per side per round", flush=True)
    last: dict[str, list[Any]] = {}
    temporal_pids = {"server": stack.server_pid}

    def temporal_side(
        name: str, burst: Callable[..., Awaitable[tuple[list[float], float, list[Any]]]], pid: int
    ) -> Callable[[], Awaitable[dict[str, float]]]:
        async def one_round() -> dict[str, float]:
            async def timed() -> tuple[list[float], float]:
                latencies, wall, handles = await burst(n)
                last[name] = handles[:HISTORIES_SAMPLED]
                return latencies, wall

            metrics = await measured(n, timed, {"worker": pid, **temporal_pids})
            lone, _, _ = await burst(LONE_JOBS, lone=True)
            return metrics | {"lone_p50_ms": percentile(lone, 0.5) * 1000}

        return one_round

    async def celery_round() -> dict[str, float]:
        async def timed() -> tuple[list[float], float]:
            return celery_burst(n)

        pids = {"worker": stack.celery.pid}
        if stack.redis_pid is not None:
            pids["server"] = stack.redis_pid
        metrics = await measured(n, timed, pids)
        return metrics | {"lone_p50_ms": percentile(celery_lone(LONE_JOBS), 0.5) * 1000}

    samples = await alternate(
        options.rounds,
        {
            "lanes": temporal_side(
                "lanes",
                lambda size, lone=False: lanes_burst(
                    stack.lanes_client, size, LANES_QUEUE, lone=lone
                ),
                stack.lanes.pid,
            ),
            "raw": temporal_side(
                "raw",
                lambda size, lone=False: raw_burst(
                    stack.raw_client, size, stack.raw_queue, lone=lone
                ),
                stack.raw.pid,
            ),
            "raw_activity": temporal_side(
                "raw_activity",
                lambda size, lone=False: raw_activity_burst(
                    stack.raw_client, size, stack.raw_queue, lone=lone
                ),
                stack.raw.pid,
            ),
            "celery": celery_round,
        },
    )
    for side in ("lanes", "raw"):
        sizes = await history_size(last.get(side, []))
        for key, value in sizes.items():
            samples[side][key] = [value]

    e2e = f"2 end-to-end N={n}"
    rows = [
        compare(e2e, samples, metric, unit, other="raw", other_label="raw SDK workflow")
        for metric, unit in (
            ("jobs_per_s", "jobs/s"),
            ("p50_ms", "ms"),
            ("p99_ms", "ms"),
            ("lone_p50_ms", "ms"),
            ("worker_cpu_ms_per_job", "ms CPU"),
            ("server_cpu_ms_per_job", "ms CPU"),
            ("client_cpu_ms_per_job", "ms CPU"),
            ("history_events", "events"),
            ("history_bytes", "bytes"),
        )
    ]
    primitive = f"2b vs start_activity N={n}"
    for metric, unit in (
        ("jobs_per_s", "jobs/s"),
        ("lone_p50_ms", "ms"),
        ("worker_cpu_ms_per_job", "ms CPU"),
        ("client_cpu_ms_per_job", "ms CPU"),
    ):
        rows.append(
            compare(
                primitive,
                samples,
                metric,
                unit,
                other="raw_activity",
                other_label="raw SDK start_activity",
            )
        )
    peer = f"3 vs Celery N={n}"
    label = f"Celery {options.celery_pool} x{options.celery_concurrency} NON-DURABLE"
    for metric, unit, note in (
        ("jobs_per_s", "jobs/s", ""),
        ("p50_ms", "ms", "in the burst; Celery: until stored in Redis"),
        ("lone_p50_ms", "ms", "one job at a time, at the client"),
        ("worker_cpu_ms_per_job", "ms CPU", ""),
        ("server_cpu_ms_per_job", "ms CPU", "Temporal server vs Redis"),
    ):
        rows.append(
            compare(peer, samples, metric, unit, other="celery", other_label=label, note=note)
        )
    return rows
