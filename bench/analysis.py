"""LLM analysis against a loopback model: commits per second, and the global rate limit.

    uv run python -m bench.analysis [--part all|throughput|rate-limit] [--quick]
        [--commits 1000] [--concurrency 16] [--latency 0.2] [--limit 20/s] [--jobs 300]

Starts its own Temporal dev server and the analysis tests' loopback OpenAI-compatible server in a
process of its own (every answer delayed by ``--latency``), each stopped by PID at the end, and a
fresh SQLite file. Every model call goes through the real pydantic-ai client.

**Throughput** (part ``throughput``): an analysis worker in this process with
``LANES_ANALYSIS_CONCURRENCY=--concurrency``. One untimed job of a few commits first (the worker
imports pydantic-ai and the OpenAI SDK on its first model call; its time is printed), then
``analyze_commits`` jobs of 50 commits each, all dispatched at once. It reports:

- commits/s end to end (first dispatch to last result) and the ratio to the ideal
  ``concurrency / latency`` (16 / 0.2 s = 80/s); the target is 0.8x or better;
- the worker process's CPU per commit over that run (this process: the client's dispatches are
  in it too, a small share);
- the same ratio for bare httpx requests to the same model at the same concurrency, measured in
  the same run: the ceiling this machine allows at the moment, and analysis's share of it;
- the peak model calls the server saw in any one-second window (the per-worker bound at work:
  never above the ideal);
- tokens per commit, from the usage table;
- then a second run over the same commits: model calls made (the cache: 0 expected).

**Global rate limit** (part ``rate-limit``): two ``analysis-worker`` processes, each with
``LANES_ANALYSIS_CONCURRENCY=--concurrency``, both given ``LANES_RATE_LIMITS='{"analysis":
"--limit"}'`` (default ``20/s``): at most 20 calls in any one-second window over every worker,
which core turns into the server's task-queue rate (``core.ratelimit``: 19 / 2.2 s = 8.6 starts/s,
room for the server's one-second burst) and applies through the SDK's
``max_task_queue_activities_per_second``. ``--jobs`` one-commit ``analyze_commits`` jobs (the
set-up docs/analysis.md gives for keeping N workers under a provider's calls/s: a job per commit,
so jobs/s is calls/s) are dispatched at once, after ten untimed ones that warm both workers up.
Unlimited, the two workers would make up to 2 x 16 / 0.2 s = 160 calls/s. From the times the
model saw the calls it reports the busiest window of the limit's length (closed, anywhere in the
run, the first second included) against the limit, the mean rate against the server rate and
the limit, and each worker's CPU (both took part).

``--quick`` analyses 200 commits and runs 100 rate-limited jobs.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select
from temporalio.client import Client

from analysis.activities.commits import AnalyzeCommitsInput, AnalyzeCommitsResult
from analysis.models import ModelCall
from analysis.schema import CommitData
from analysis.settings import analysis_settings
from bench._processes import Child, cpu_seconds, python_script, subprocess_env
from bench._workers import wait_ready
from core import db
from core.db import dispose_engines, migrations
from core.dev.server import DevServer, free_port
from core.dev.testing import running_worker
from core.dispatch import dispatch
from core.settings import settings
from core.task_queues import TaskQueue
from core.telemetry import configure_logging
from core.worker import exit_process

# The loopback model the tests use: one source of truth for what the "model" answers.
sys.path.insert(0, str(Path(__file__).parents[1] / "packages" / "analysis" / "tests"))
from analysis_test_llm import API_KEY  # type: ignore[import-not-found]  # tests folder

TESTS = Path(__file__).parents[1] / "packages" / "analysis" / "tests"

BATCH = 50


@dataclass(frozen=True)
class Model:
    """The loopback model's process and base URL."""

    process: asyncio.subprocess.Process
    url: str

    async def request_times(self) -> list[float]:
        """When each request arrived (its clock), since it started."""
        async with httpx.AsyncClient() as http:
            stats = (await http.get(self.url.removesuffix("/v1") + "/stats")).json()
        return [float(t) for t in stats["at"]]


def commits(n: int, run: str) -> list[CommitData]:
    return [
        CommitData(
            repository=f"https://example.com/bench/{run}",
            sha=f"{i:08d}{run}",
            author_name=f"Dev {i % 10}",
            author_email=f"dev{i % 10}@example.com",
            authored_at=datetime(2026, 1, 1, tzinfo=UTC),
            message=f"feat(api): change {i}\n\nwith a body that says why",
            paths=[f"api/module_{i % 20}.py", f"tests/test_module_{i % 20}.py"],
            additions=i % 200,
            deletions=i % 50,
        )
        for i in range(n)
    ]


async def analyse_all(
    client: Client, queue: str, data: list[CommitData], batch: int = BATCH
) -> tuple[float, int]:
    """Dispatch ``data`` in jobs of ``batch`` commits, all at once; (seconds, model calls)."""
    started = time.perf_counter()
    jobs = [
        await dispatch(
            "analyze_commits",
            AnalyzeCommitsInput(commits=data[i : i + batch], rebuild_profiles=False),
            task_queue=queue,
            client=client,
        )
        for i in range(0, len(data), batch)
    ]
    results: list[AnalyzeCommitsResult] = await asyncio.gather(*(j.result() for j in jobs))
    return time.perf_counter() - started, sum(r.model_calls for r in results)


async def raw_rate(url: str, n: int, concurrency: int) -> float:
    """Requests/s of bare httpx POSTs to the same loopback model at the same concurrency: what
    this machine allows right now, with no client library, no Temporal and no database."""
    limit = asyncio.Semaphore(concurrency)
    async with httpx.AsyncClient(headers={"Authorization": f"Bearer {API_KEY}"}) as http:

        async def one() -> None:
            async with limit:
                response = await http.post(
                    f"{url}/chat/completions", json={"model": "raw", "messages": []}
                )
                response.raise_for_status()

        started = time.perf_counter()
        await asyncio.gather(*(one() for _ in range(n)))
        return n / (time.perf_counter() - started)


def peak_in_window(times: list[float], window: float = 1.0) -> int:
    """The most requests in any closed window of ``window`` seconds (one starts at every
    request)."""
    times = sorted(times)
    peak, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] > window:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


async def start_model(latency: float) -> Model:
    """The loopback model in a process of its own, as a real provider is: its CPU is not the
    worker's."""
    process = await asyncio.create_subprocess_exec(
        sys.executable, str(TESTS / "analysis_test_llm.py"), str(latency),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    url = (await asyncio.wait_for(process.stdout.readline(), 60)).decode().strip()
    if not url.startswith("http"):
        raise SystemExit(f"the loopback model did not start (exit {await process.wait()})")
    return Model(process, url)


async def throughput(
    server: DevServer, model: Model, n: int, concurrency: int, latency: float
) -> None:
    """Part 1: one in-process worker, ``n`` commits in jobs of 50."""
    from core.client import connect

    client = await connect(target_host=server.address)
    queue = f"bench-analysis-{uuid.uuid4().hex[:8]}"
    raw = await raw_rate(model.url, min(n, 400), concurrency)
    data = commits(n, uuid.uuid4().hex[:8])
    async with running_worker(client, "analysis", task_queue=queue):
        first, _ = await analyse_all(client, queue, commits(4, uuid.uuid4().hex[:8]))
        before = len(await model.request_times())
        cpu = time.process_time()
        elapsed, calls = await analyse_all(client, queue, data)
        cpu = time.process_time() - cpu
        times = (await model.request_times())[before:]
        again, calls_again = await analyse_all(client, queue, data)
    async with db.session() as s:
        tokens = (
            await s.execute(
                select(func.sum(ModelCall.input_tokens), func.sum(ModelCall.output_tokens))
            )
        ).one()
        rows = await s.scalar(select(func.count()).select_from(ModelCall))
    ideal = concurrency / latency
    rate = n / elapsed
    print("throughput: one worker in this process")
    print(f"  first job (4 commits; loads pydantic-ai and the OpenAI SDK): {first:.1f}s")
    print(f"  commits analysed: {n} in {elapsed:.1f}s, {calls} model calls")
    print(
        f"  CPU of the worker process: {cpu:.1f}s, "
        f"{cpu / elapsed:.0%} of one core, {cpu / n * 1000:.1f} ms per commit"
    )
    print(
        f"  commits/s: {rate:.1f}, ideal {ideal:.0f}/s ({concurrency} / {latency:g}s): "
        f"ratio {rate / ideal:.2f}x (target >= 0.8x)"
    )
    print(
        f"  bare httpx to the same model, same concurrency, same run: {raw:.1f} requests/s "
        f"({raw / ideal:.2f}x ideal); analysis reaches {rate / raw:.2f}x of it"
    )
    print(
        f"  peak model calls in any 1 s window: {peak_in_window(times)} "
        f"(bound per worker: {ideal:.0f})"
    )
    per_call = (tokens[0] or 0) / max(rows or 1, 1), (tokens[1] or 0) / max(rows or 1, 1)
    print(f"  tokens per commit (one call each): {per_call[0]:.0f} in, {per_call[1]:.0f} out")
    print(f"  second run over the same commits: {calls_again} model calls in {again:.1f}s")


@contextlib.asynccontextmanager
async def analysis_workers(address: str, count: int, **env: str) -> AsyncIterator[list[Child]]:
    """``count`` ``analysis-worker`` processes on the queue ``analysis``, ready on /readyz."""
    children: list[Child] = []
    try:
        for i in range(count):
            port = free_port()
            extra = dict(env, LANES_HEALTH_PORT=str(port), LANES_HEALTH_HOST="127.0.0.1")
            child = Child(
                f"analysis-worker-{i + 1}",
                [python_script("analysis-worker")],
                subprocess_env(address, LANES_SYNC_SCHEDULES="false", **extra),
            )
            children.append(child)
            await wait_ready(child, str(port))
        yield children
    finally:
        for child in reversed(children):
            child.stop()


async def rate_limit(
    server: DevServer, model: Model, jobs: int, concurrency: int, latency: float, limit: str
) -> None:
    """Part 2: two worker processes under one server-side limit, one-commit jobs."""
    from core.client import connect
    from core.ratelimit import RateLimit

    declared = RateLimit.parse(limit)
    client = await connect(target_host=server.address)
    queue = str(TaskQueue.ANALYSIS)
    env = {
        "LANES_RATE_LIMITS": json.dumps({queue: limit}),
        "LANES_ANALYSIS_CONCURRENCY": str(concurrency),
    }
    async with analysis_workers(server.address, 2, **env) as workers:
        # A worker's first model call loads the LLM client: warm both up, untimed.
        await analyse_all(client, queue, commits(10, uuid.uuid4().hex[:8]), batch=1)
        before = len(await model.request_times())
        cpu = [cpu_seconds(w.pid) for w in workers]
        elapsed, calls = await analyse_all(client, queue, commits(jobs, uuid.uuid4().hex[:8]), 1)
        cpu = [cpu_seconds(w.pid) - c for w, c in zip(workers, cpu, strict=True)]
        times = (await model.request_times())[before:]
    times.sort()
    unlimited = 2 * concurrency / latency
    server_rate = declared.server_rate()
    peak = peak_in_window(times, declared.window)
    mean = _rate(times)
    print(f"global rate limit: 2 worker processes, {concurrency} calls in flight each")
    print(f'  LANES_RATE_LIMITS={env["LANES_RATE_LIMITS"]}: {jobs} one-commit jobs in '
          f"{elapsed:.1f}s, {calls} model calls (unlimited, the two workers allow "
          f"{unlimited:.0f}/s)")  # fmt: skip
    print(
        f"  busiest {declared.window:g} s window: {peak} calls, limit {declared.count} "
        f"({'held' if peak <= declared.count else 'EXCEEDED'}); first second: "
        f"{peak_in_window([t for t in times if t - times[0] <= 1.0])} calls"
    )
    print(
        f"  mean rate: {mean:.2f} calls/s first to last call = {mean / server_rate:.2f}x the "
        f"server rate core set ({server_rate:.2f}/s), "
        f"{mean / (declared.count / declared.window):.2f}x the limit's own rate"
    )
    print(f"  CPU of each worker over the run: {' / '.join(f'{c:.1f}s' for c in cpu)}")


def _rate(times: list[float]) -> float:
    return (len(times) - 1) / (times[-1] - times[0]) if len(times) > 1 else 0.0


async def main(args: argparse.Namespace) -> None:
    configure_logging(fmt="json", level="WARNING")
    model = await start_model(args.latency)
    with tempfile.TemporaryDirectory(prefix="lanes-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        os.environ.update(
            LANES_DATABASE_URL=url,
            LANES_LLM_MODEL="bench-model",
            LANES_LLM_BASE_URL=model.url,
            LANES_LLM_API_KEY=API_KEY,
            LANES_ANALYSIS_CONCURRENCY=str(args.concurrency),
        )
        settings.cache_clear()
        analysis_settings.cache_clear()
        await migrations.upgrade(url=url)
        await dispose_engines()
        try:
            async with DevServer(ui_port=None) as server:
                if args.part in ("all", "throughput"):
                    n = 200 if args.quick else args.commits
                    await throughput(server, model, n, args.concurrency, args.latency)
                if args.part in ("all", "rate-limit"):
                    jobs = 100 if args.quick else args.jobs
                    await rate_limit(
                        server, model, jobs, args.concurrency, args.latency, args.limit
                    )
        finally:
            model.process.kill()
            await model.process.wait()
            await dispose_engines()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=["all", "throughput", "rate-limit"], default="all")
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument(
        "--limit", default="20/s", help="most calls in any window over both workers (20/s, 1200/m)"
    )
    parser.add_argument("--jobs", type=int, default=300, help="rate-limited one-commit jobs")
    parser.add_argument("--quick", action="store_true", help="200 commits, 100 limited jobs")
    asyncio.run(main(parser.parse_args()))
    # The SDK's runtime has been seen to abort the interpreter at exit; end deliberately.
    exit_process(0)
