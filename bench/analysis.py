"""Commits per second of LLM analysis against a model that answers in 200 ms.

    uv run python -m bench.analysis [--commits 1000] [--concurrency 16] [--latency 0.2] [--quick]

Starts its own Temporal dev server (stopped by PID at the end), the analysis tests' loopback
OpenAI-compatible server in a process of its own (every answer delayed by ``--latency``; stopped
by PID) and an analysis worker in this process with ``LANES_ANALYSIS_CONCURRENCY=--concurrency``,
against a fresh SQLite file. It
dispatches ``analyze_commits`` jobs of 50 commits each, all at once, through the real pydantic-ai
client, and reports:

- commits/s end to end (first dispatch to last result) and the ratio to the ideal
  ``concurrency / latency`` (16 / 0.2 s = 80/s); the target is 0.8x or better;
- the same ratio for bare httpx requests to the same model at the same concurrency, measured in
  the same run: the ceiling this machine allows at the moment, and analysis's share of it;
- the peak model calls the server saw in any one-second window (the per-worker bound at work:
  never above the ideal);
- tokens per commit, from the usage table;
- then a second run over the same commits: model calls made (the cache: 0 expected).

A global per-queue rate limit (N workers together under the provider's limit) needs a server-side
limit in core; until it exists this bench reports only the per-worker bound (see
docs/analysis.md). ``--quick`` analyses 200 commits.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

import httpx
from sqlalchemy import func, select
from temporalio.client import Client

from analysis.activities.commits import AnalyzeCommitsInput, AnalyzeCommitsResult
from analysis.models import ModelCall
from analysis.schema import CommitData
from analysis.settings import analysis_settings
from core import db
from core.db import dispose_engines, migrations
from core.dev.server import DevServer
from core.dev.testing import running_worker
from core.dispatch import dispatch
from core.settings import settings
from core.telemetry import configure_logging
from core.worker import exit_process

# The loopback model the tests use: one source of truth for what the "model" answers.
sys.path.insert(0, str(Path(__file__).parents[1] / "packages" / "analysis" / "tests"))
from analysis_test_llm import API_KEY  # type: ignore[import-not-found]  # tests folder

TESTS = Path(__file__).parents[1] / "packages" / "analysis" / "tests"

BATCH = 50


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


async def analyse_all(client: Client, queue: str, data: list[CommitData]) -> tuple[float, int]:
    started = time.perf_counter()
    jobs = [
        await dispatch(
            "analyze_commits",
            AnalyzeCommitsInput(commits=data[i : i + BATCH], rebuild_profiles=False),
            task_queue=queue,
            client=client,
        )
        for i in range(0, len(data), BATCH)
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


def peak_per_second(times: list[float]) -> int:
    times = sorted(times)
    peak, start = 0, 0
    for end, t in enumerate(times):
        while t - times[start] >= 1.0:
            start += 1
        peak = max(peak, end - start + 1)
    return peak


async def start_model(latency: float) -> tuple[asyncio.subprocess.Process, str]:
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
    return process, url


async def request_times(url: str) -> list[float]:
    async with httpx.AsyncClient() as http:
        stats = (await http.get(url.removesuffix("/v1") + "/stats")).json()
    return [float(t) for t in stats["at"]]


async def main(n: int, concurrency: int, latency: float) -> None:
    configure_logging(fmt="json", level="WARNING")
    model, model_url = await start_model(latency)
    with tempfile.TemporaryDirectory(prefix="lanes-bench-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/bench.db"
        os.environ.update(
            LANES_DATABASE_URL=url,
            LANES_LLM_MODEL="bench-model",
            LANES_LLM_BASE_URL=model_url,
            LANES_LLM_API_KEY=API_KEY,
            LANES_ANALYSIS_CONCURRENCY=str(concurrency),
        )
        settings.cache_clear()
        analysis_settings.cache_clear()
        await migrations.upgrade(url=url)
        await dispose_engines()
        data = commits(n, uuid.uuid4().hex[:8])
        try:
            async with DevServer(ui_port=None) as server:
                from core.client import connect

                client = await connect(target_host=server.address)
                queue = f"bench-analysis-{uuid.uuid4().hex[:8]}"
                raw = await raw_rate(model_url, min(n, 400), concurrency)
                raw_requests = len(await request_times(model_url))
                async with running_worker(client, "analysis", task_queue=queue):
                    cpu = time.process_time()
                    elapsed, calls = await analyse_all(client, queue, data)
                    cpu = time.process_time() - cpu
                    times = (await request_times(model_url))[raw_requests:]
                    again, calls_again = await analyse_all(client, queue, data)
        finally:
            model.kill()
            await model.wait()
        async with db.session() as s:
            tokens = (
                await s.execute(
                    select(func.sum(ModelCall.input_tokens), func.sum(ModelCall.output_tokens))
                )
            ).one()
        await dispose_engines()
    ideal = concurrency / latency
    rate = n / elapsed
    print(f"commits analysed: {n} in {elapsed:.1f}s, {calls} model calls")
    print(
        f"CPU of the worker process: {cpu:.1f}s, "
        f"{cpu / elapsed:.0%} of one core, {cpu / n * 1000:.1f} ms per commit"
    )
    print(
        f"commits/s: {rate:.1f}, ideal {ideal:.0f}/s ({concurrency} / {latency:g}s): "
        f"ratio {rate / ideal:.2f}x (target >= 0.8x)"
    )
    print(
        f"bare httpx to the same model, same concurrency, same run: {raw:.1f} requests/s "
        f"({raw / ideal:.2f}x ideal); analysis reaches {rate / raw:.2f}x of it"
    )
    print(
        f"peak model calls in any 1 s window: {peak_per_second(times)} "
        f"(bound per worker: {ideal:.0f})"
    )
    print(f"tokens per commit: {(tokens[0] or 0) / n:.0f} in, {(tokens[1] or 0) / n:.0f} out")
    print(f"second run over the same commits: {calls_again} model calls in {again:.1f}s")
    print("global per-queue rate limit: not measured (no server-side limit in core yet)")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--latency", type=float, default=0.2)
    parser.add_argument("--quick", action="store_true", help="200 commits")
    args = parser.parse_args()
    asyncio.run(main(200 if args.quick else args.commits, args.concurrency, args.latency))
    # The SDK's runtime has been seen to abort the interpreter at exit; end deliberately.
    exit_process(0)
