"""Figure 4: worker start-up time to ready, idle memory and stop time, per domain worker.

Each domain's console script (``sync-worker``, ...) is spawned against the benchmark's server with
its health endpoint on a free loopback port; "ready" is ``/readyz`` answering 200, timed from the
spawn. After ``idle_seconds`` the resident memory of the process is read, then it is stopped with
SIGTERM and the time to exit recorded. The raw SDK worker (no health server: it writes a file once
its worker runs) is the baseline. Domains and the baseline alternate within each round.

Bytecode: the image compiles it at build time (``UV_COMPILE_BYTECODE=1``), so a deployed worker
never compiles source at start. Children here do the same through one bytecode cache per run
(``PYTHONPYCACHEPREFIX``, filled by one untimed warm-up start of each side), even where the
shell sets ``PYTHONDONTWRITEBYTECODE``: without it every start, the baseline's too, measured
mostly the compiler (and the SDK's default build id compiled every loaded module a second time).
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import Awaitable, Callable
from pathlib import Path

from bench._processes import Child, log_dir, python_script, rss_bytes, subprocess_env
from bench._report import Row, alternate, compare
from bench._workers import wait_ready
from bench.options import BenchOptions
from core.dev.server import free_port

FIGURE = "4 worker start-up"
DOMAIN_SCRIPTS = ("sync-worker", "analysis-worker", "email-worker", "operations-worker")


async def _start_idle_stop(child: Child, probe: str | Path, idle: float) -> dict[str, float]:
    try:
        ready = await wait_ready(child, probe)
        await asyncio.sleep(idle)
        rss = rss_bytes(child.pid)
    finally:
        stop = child.stop()
    return {"ready_s": ready, "idle_rss_mib": rss / 2**20, "stop_s": stop}


def _env(address: str, **extra: str) -> dict[str, str]:
    env = subprocess_env(address, PYTHONPYCACHEPREFIX=str(log_dir() / "bytecode"), **extra)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def _domain(script: str, address: str, idle: float) -> Callable[[], Awaitable[dict[str, float]]]:
    async def one_round() -> dict[str, float]:
        port = free_port()
        env = _env(address, LANES_HEALTH_PORT=str(port), LANES_HEALTH_HOST="127.0.0.1")
        return await _start_idle_stop(Child(script, [python_script(script)], env), str(port), idle)

    return one_round


def _raw(address: str, idle: float) -> Callable[[], Awaitable[dict[str, float]]]:
    async def one_round() -> dict[str, float]:
        queue = f"bench-startup-{uuid.uuid4().hex[:8]}"
        ready_file = log_dir() / f"{queue}.ready"
        argv = [sys.executable, "-m", "bench.raw_worker", "--task-queue", queue]
        argv += ["--ready-file", str(ready_file)]
        child = Child("raw-startup", argv, _env(address))
        return await _start_idle_stop(child, ready_file, idle)

    return one_round


async def run(address: str, options: BenchOptions) -> list[Row]:
    sides = {s: _domain(s, address, options.idle_seconds) for s in DOMAIN_SCRIPTS}
    sides["raw"] = _raw(address, options.idle_seconds)
    print("    warm-up: one untimed start of each side fills the bytecode cache", flush=True)
    for one_round in sides.values():
        await one_round()
    samples = await alternate(options.startup_rounds, sides)
    rows: list[Row] = []
    for script in DOMAIN_SCRIPTS:
        for metric, unit in (("ready_s", "s"), ("idle_rss_mib", "MiB"), ("stop_s", "s")):
            row = compare(
                FIGURE,
                samples,
                metric,
                unit,
                lanes=script,
                other="raw",
                other_label="raw SDK worker",
            )
            row.metric = f"{script} {metric}"
            rows.append(row)
    return rows
