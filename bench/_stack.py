"""The running system the job figures share: dev server, Lanes, raw and Celery workers.

Started once per run (start-up costs a few seconds per process) and stopped in reverse order by
PID, also on Ctrl-C. Redis DB 15 (the benchmark's own) is flushed before and after.
"""

from __future__ import annotations

import contextlib
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import psutil
import redis
from temporalio.client import Client

from bench._processes import Child, dev_server
from bench._workers import celery_worker, lanes_worker, raw_worker
from bench.celery_app import REDIS_URL
from bench.options import BenchOptions
from core.client import connect

__all__ = ["LANES_QUEUE", "Stack", "running_stack"]

LANES_QUEUE = "sync"
"""The Lanes worker is a real domain worker (`lanes worker --queues sync`); jobs use its queue."""


@dataclass
class Stack:
    """Addresses, clients and PIDs of everything a job figure needs."""

    address: str
    server_pid: int
    lanes_client: Client
    raw_client: Client
    lanes: Child
    raw: Child
    raw_queue: str
    celery: Child
    redis_pid: int | None


def flush_bench_redis() -> None:
    """Empty the benchmark's own Redis DB (and only that one)."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=5).flushdb()
    except redis.exceptions.ConnectionError as err:
        raise RuntimeError(
            f"Redis at {REDIS_URL} is not reachable ({err}); the Celery peer needs it: start the "
            "local Redis, set LANES_BENCH_REDIS_URL, or run only `--only dispatch,startup,tracing`"
        ) from None


def redis_server_pid() -> int | None:
    """PID of the local redis-server, to read its CPU (it is a machine service, not ours)."""
    for proc in psutil.process_iter(["name"]):
        if proc.info["name"] and proc.info["name"].startswith("redis-server"):
            return int(proc.pid)
    return None


@asynccontextmanager
async def running_stack(options: BenchOptions) -> AsyncIterator[Stack]:
    """Start the server and the three workers; stop them all on the way out."""
    flush_bench_redis()
    raw_queue = f"bench-raw-{uuid.uuid4().hex[:8]}"
    try:
        async with contextlib.AsyncExitStack() as stack:
            server = await stack.enter_async_context(dev_server())
            assert server.pid is not None
            print(f"  dev server {server.address} (pid {server.pid})", flush=True)
            lanes = await stack.enter_async_context(
                lanes_worker(server.address, LANES_QUEUE, include=["bench.steps_workflow"])
            )
            raw = await stack.enter_async_context(raw_worker(server.address, raw_queue))
            celery = await stack.enter_async_context(
                celery_worker(options.celery_pool, options.celery_concurrency)
            )
            print(
                f"  workers: lanes pid {lanes.pid}, raw pid {raw.pid}, "
                f"celery ({options.celery_pool} x{options.celery_concurrency}) pid {celery.pid}",
                flush=True,
            )
            yield Stack(
                address=server.address,
                server_pid=server.pid,
                lanes_client=await connect(target_host=server.address),
                raw_client=await Client.connect(server.address),
                lanes=lanes,
                raw=raw,
                raw_queue=raw_queue,
                celery=celery,
                redis_pid=redis_server_pid(),
            )
    finally:
        flush_bench_redis()
