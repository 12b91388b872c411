"""Commits per second of a large local git sync, on SQLite and on PostgreSQL.

    uv run python -m bench.sync_commits [--commits 20000] [--rounds 2] [--batch-size 500]

Starts its own Temporal dev server (stopped by PID at the end) and a sync worker in this
process, makes a git repository of ``--commits`` commits with ``git fast-import`` (the test suite's
generator), then runs ``SyncRepositoryWorkflow`` with ``full=True`` against a fresh database:
a SQLite file, and a database of its own on ``LANES_TEST_POSTGRES_URL`` (default
``postgresql://postgres@127.0.0.1:5432/test``, dropped afterwards). Reported per database: the
best and median end-to-end commits/s over ``--rounds`` (each round on an empty database), and, for
scale, how fast ``git log`` alone is read and parsed by the same code without any database.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
from sqlalchemy.engine import make_url

from core.db import dispose_engines, migrations
from core.dev.server import DevServer
from core.dev.testing import running_worker
from core.settings import settings
from core.telemetry import configure_logging
from core.worker import exit_process
from sync.settings import sync_settings
from sync.sources.git import git_batches
from sync.workflows import SyncRepositoryWorkflow
from sync.workflows.sync_repository import SyncRepositoryRequest

# The repository generator the tests use: one source of truth for what a "commit" here is.
sys.path.insert(0, str(Path(__file__).parents[1] / "packages" / "sync" / "tests"))
from sync_test_git import make_repo  # type: ignore[import-not-found]  # tests folder, on sys.path above

POSTGRES = os.environ.get("LANES_TEST_POSTGRES_URL", "postgresql://postgres@127.0.0.1:5432/test")


async def parse_only(repo: Path, batch_size: int) -> float:
    started = time.perf_counter()
    seen = 0
    async for batch in git_batches(
        repo, known_head=None, full=True, resume=None, batch_size=batch_size
    ):
        seen += len(batch.commits)
    return seen / (time.perf_counter() - started)


async def one_sync(client, queue: str, repo: Path, url: str, commits: int) -> float:  # type: ignore[no-untyped-def]
    os.environ["LANES_DATABASE_URL"] = url
    settings.cache_clear()
    await migrations.upgrade(url=url)
    await dispose_engines()
    started = time.perf_counter()
    result = await client.execute_workflow(
        SyncRepositoryWorkflow.run,
        SyncRepositoryRequest(url=str(repo), full=True),
        id=f"bench-sync-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )
    elapsed = time.perf_counter() - started
    await dispose_engines()
    if result.commits_inserted != commits:
        raise SystemExit(f"expected {commits} commits, the sync wrote {result.commits_inserted}")
    return commits / elapsed


async def postgres_database() -> tuple[str, str]:
    admin = make_url(POSTGRES)
    name = f"lanes_bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(admin.render_as_string(hide_password=False), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = admin.set(drivername="postgresql+asyncpg", database=name)
    return name, url.render_as_string(hide_password=False)


async def drop_postgres(name: str) -> None:
    conn = await asyncpg.connect(make_url(POSTGRES).render_as_string(hide_password=False))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


async def main(commits: int, rounds: int, batch_size: int) -> None:
    configure_logging(fmt="json", level="WARNING")
    os.environ["LANES_SYNC_BATCH_SIZE"] = str(batch_size)
    sync_settings.cache_clear()
    with tempfile.TemporaryDirectory(prefix="lanes-bench-") as tmp:
        made = time.perf_counter()
        repo = make_repo(Path(tmp) / "repo", commits)
        print(f"repository: {commits} commits made in {time.perf_counter() - made:.1f}s")
        print(f"git log + parse only: {await parse_only(repo, batch_size):,.0f} commits/s")
        async with DevServer(ui_port=None) as server:
            from core.client import connect

            client = await connect(target_host=server.address)
            queue = f"bench-sync-{uuid.uuid4().hex[:8]}"
            async with running_worker(client, "sync", task_queue=queue):
                for label in ("sqlite", "postgresql"):
                    rates = []
                    for n in range(rounds):
                        if label == "sqlite":
                            url = f"sqlite+aiosqlite:///{tmp}/bench-{n}.db"
                            rates.append(await one_sync(client, queue, repo, url, commits))
                        else:
                            name, url = await postgres_database()
                            try:
                                rates.append(await one_sync(client, queue, repo, url, commits))
                            finally:
                                await drop_postgres(name)
                    print(
                        f"{label:<10} full sync of {commits} commits: best "
                        f"{max(rates):,.0f} commits/s, median {statistics.median(rates):,.0f} "
                        f"({rounds} rounds, batch {batch_size})"
                    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commits", type=int, default=20_000)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--batch-size", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.commits, args.rounds, args.batch_size))
    # The SDK's runtime has been seen to abort the interpreter at exit; end deliberately.
    exit_process(0)
