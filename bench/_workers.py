"""Worker subprocesses for the benchmarks: Lanes, raw SDK, Celery; each stopped by PID.

Workers run in their own process so their CPU is measured apart from the client's and the
server's. Readiness is the worker's own signal (Lanes' ``/readyz``, the raw worker's ready file,
Celery's answer to a first task); every figure then warms up with a few jobs before timing.
"""

from __future__ import annotations

import asyncio
import sys
import time
import urllib.error
import urllib.request
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

from bench._processes import Child, log_dir, python_script, subprocess_env
from core.dev.server import free_port

__all__ = [
    "CELERY_QUEUE",
    "celery_worker",
    "lanes_worker",
    "raw_worker",
    "readyz_ok",
    "wait_ready",
]

CELERY_QUEUE = "lanes-bench"
READY_TIMEOUT = 120.0


def readyz_ok(port: int) -> bool:
    """Whether ``/readyz`` on ``port`` answers 200."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


async def wait_ready(child: Child, probe: str | Path, timeout: float = READY_TIMEOUT) -> float:
    """Wait until ``probe`` (a health port as text, or a ready file) says ready; seconds taken."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        child.check_alive()
        # A stat and a loopback GET take far less than the 20 ms between polls; nothing else
        # runs on the loop while a worker starts.
        ready = Path(probe).exists() if isinstance(probe, Path) else readyz_ok(int(probe))  # noqa: ASYNC240
        if ready:
            return time.monotonic() - child.started_at
        await asyncio.sleep(0.02)
    raise TimeoutError(f"{child.name} not ready within {timeout:.0f}s; log {child.log_path}")


def lanes_worker_argv(queues: str, include: Sequence[str] = ()) -> list[str]:
    """``lanes worker --queues ...`` run with this interpreter (so its PID is the worker's)."""
    argv = [sys.executable, "-m", "core.cli.main", "worker", "--queues", queues]
    for module in include:
        argv += ["--include", module]
    return argv


@asynccontextmanager
async def lanes_worker(
    address: str, queues: str = "sync", include: Sequence[str] = (), **env: str
) -> AsyncIterator[Child]:
    """A ``lanes worker`` subprocess serving ``queues``, ready on ``/readyz``."""
    port = free_port()
    child = Child(
        f"lanes-worker-{queues}",
        lanes_worker_argv(queues, include),
        subprocess_env(address, LANES_HEALTH_PORT=str(port), LANES_HEALTH_HOST="127.0.0.1", **env),
    )
    try:
        await wait_ready(child, str(port))
        yield child
    finally:
        child.stop()


@asynccontextmanager
async def raw_worker(address: str, task_queue: str) -> AsyncIterator[Child]:
    """A ``bench.raw_worker`` subprocess on ``task_queue``, ready once its file appears."""
    ready = log_dir() / f"raw-{task_queue}.ready"
    ready.unlink(missing_ok=True)
    argv = [sys.executable, "-m", "bench.raw_worker", "--task-queue", task_queue]
    child = Child(
        f"raw-worker-{task_queue}", [*argv, "--ready-file", str(ready)], subprocess_env(address)
    )
    try:
        await wait_ready(child, ready)
        yield child
    finally:
        child.stop()


@asynccontextmanager
async def celery_worker(pool: str, concurrency: int) -> AsyncIterator[Child]:
    """A Celery worker subprocess on :data:`CELERY_QUEUE` (readiness: the caller's warm-up)."""
    argv = [
        python_script("celery"),
        "-A",
        "bench.celery_app",
        "worker",
        "--queues",
        CELERY_QUEUE,
        "--pool",
        pool,
        "--concurrency",
        str(concurrency),
        "--loglevel",
        "WARNING",
        # No cluster chatter: one worker, measured alone.
        "--without-gossip",
        "--without-mingle",
        "--without-heartbeat",
    ]
    child = Child(f"celery-{pool}", argv, subprocess_env())
    try:
        yield child
    finally:
        child.stop()
