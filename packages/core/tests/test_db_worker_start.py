"""What a worker does with the database schema at start.

SQLite (the embedded default) is migrated by the worker itself; PostgreSQL is refused with the
command to run; a domain without tables starts with no database at all.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sqlite3
import sys
from pathlib import Path

import pytest

from core.db import migrations

BIN = Path(sys.executable).parent
SYNC_WORKER = str(BIN / "sync-worker")


async def _serves(argv: list[str], env: dict[str, str]) -> str:
    """Start a worker, wait for "serving queues", stop it with SIGTERM; return its log."""
    worker = await asyncio.create_subprocess_exec(
        *argv, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert worker.stderr is not None
        seen = ""
        while "serving queues" not in seen:
            line = await asyncio.wait_for(worker.stderr.readline(), 60)
            assert line, f"worker exited before serving: {seen}"
            seen += line.decode()
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 60) == 0
        return seen
    finally:
        _kill(worker.pid)


async def test_postgres_worker_refuses_an_old_schema_then_starts_once_upgraded(
    lanes_env: dict[str, str], postgres_database_url: str
) -> None:
    env = dict(lanes_env, LANES_DATABASE_URL=postgres_database_url)

    refused = await asyncio.create_subprocess_exec(
        SYNC_WORKER, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(refused.communicate(), 60)
    finally:
        _kill(refused.pid)
    stderr = err.decode()
    assert refused.returncode == 1, stderr
    assert "schema is behind this code: core at nothing" in stderr
    assert "Run `lanes db upgrade`" in stderr
    assert "serving queues" not in stderr

    await migrations.upgrade(url=postgres_database_url)
    await _serves([SYNC_WORKER], env)


async def test_sqlite_worker_migrates_a_fresh_database_and_serves(
    lanes_env: dict[str, str], tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'fresh' / 'lanes.db'}"
    env = dict(lanes_env, LANES_DATABASE_URL=url, LANES_LOG_LEVEL="INFO")

    log = await _serves([SYNC_WORKER], env)

    assert "migrated" in log, log
    status = await migrations.current(url=url)
    assert status.up_to_date, status
    # A second start finds the schema current and migrates nothing.
    assert "migrated" not in await _serves([SYNC_WORKER], env)


def test_a_domain_without_tables_starts_without_a_database() -> None:
    # A database that cannot be opened: touching it at all would raise.
    unreachable = "postgresql://nobody@127.0.0.1:1/none"
    assert "tableless" not in migrations.locations()  # a served domain with no migrations folder
    assert migrations.prepare_worker_schema(["tableless"], url=unreachable) == "no tables"
    with pytest.raises(Exception, match="unavailable"):
        migrations.prepare_worker_schema(["sync"], url=unreachable)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)


async def test_a_current_schema_is_recognised_without_loading_sqlalchemy(
    database_url: str,
) -> None:
    from core.db._revisions import schema_is_current

    assert not await asyncio.to_thread(schema_is_current, ["sync"], database_url)
    await migrations.upgrade(url=database_url)
    assert await asyncio.to_thread(schema_is_current, ["sync"], database_url)

    probe = (
        "import sys\n"
        "from core.db._revisions import schema_is_current\n"
        f"assert schema_is_current(['sync'], {database_url!r})\n"
        "assert 'sqlalchemy' not in sys.modules and 'alembic' not in sys.modules\n"
    )
    done = await asyncio.create_subprocess_exec(
        sys.executable, "-c", probe, stderr=asyncio.subprocess.PIPE
    )
    _, err = await asyncio.wait_for(done.communicate(), 60)
    assert done.returncode == 0, err.decode()


async def _refusal(env: dict[str, str]) -> str:
    refused = await asyncio.create_subprocess_exec(
        SYNC_WORKER, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(refused.communicate(), 60)
    finally:
        _kill(refused.pid)
    assert refused.returncode == 1, err.decode()
    return err.decode()


async def test_another_domains_unknown_revision_is_not_a_newer_release(
    lanes_env: dict[str, str], tmp_path: Path
) -> None:
    # A shared database holds one version row per branch; an image that installs one domain
    # does not know the others' revisions and must still start. A newer release of its own
    # branch (its row replaced by a revision it does not know) must still be refused.
    url = f"sqlite+aiosqlite:///{tmp_path / 'lanes.db'}"
    env = dict(lanes_env, LANES_DATABASE_URL=url)
    await migrations.upgrade(url=url)
    path = tmp_path / "lanes.db"
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO alembic_version VALUES ('0f0f0f0f0f0f')")  # a foreign branch
    await _serves([SYNC_WORKER], env)

    heads = (await migrations.current(url=url)).heads
    with sqlite3.connect(path) as conn:
        conn.execute(
            "UPDATE alembic_version SET version_num = 'abababababab' WHERE version_num = ?",
            (heads["sync"],),
        )
    assert "this code does not know" in await _refusal(env)
