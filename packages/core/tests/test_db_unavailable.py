"""A database that goes away: the activity fails with a retryable error that hides the password,
and once the database is back the retried activity completes without writing a second row.

PostgreSQL behind a loopback TCP proxy that the test cuts and restores; the job runs through the
real dev server and an in-process worker, with a retry interval of one second.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pydantic
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from temporalio import activity
from temporalio.client import Client
from temporalio.common import RetryPolicy

from core import activities, db
from core.db import session, upsert
from core.db.testing import TcpProxy
from core.dev.testing import running_worker
from core.dispatch import dispatch
from core.settings import settings

PASSWORD = "pw-S3CRET-never-shown"

metadata = sa.MetaData()
repos = sa.Table(
    "test_unavailable_repos",
    metadata,
    sa.Column("name", sa.String(50), primary_key=True),
    sa.Column("written_by_attempt", sa.Integer, nullable=False),
)


@dataclass
class Gates:
    """Lets the test cut the database between the activity's two writes."""

    first_write_done: asyncio.Event = field(default_factory=asyncio.Event)
    database_cut: asyncio.Event = field(default_factory=asyncio.Event)


GATES = Gates()


class SaveRepo(pydantic.BaseModel):
    name: str


class Saved(pydantic.BaseModel):
    attempt: int
    inserted: int
    updated: int


@activities.defn(
    name="test_db.save_repo",
    queue="test-db",
    retry=RetryPolicy(
        initial_interval=timedelta(seconds=1), backoff_coefficient=1.0, maximum_attempts=30
    ),
    start_to_close=timedelta(seconds=20),
)
async def save_repo(input: SaveRepo) -> Saved:
    """Write the row, then touch the database again (the step the outage hits)."""
    attempt = activity.info().attempt
    async with session() as s:
        result = await upsert(
            s, repos, [{"name": input.name, "written_by_attempt": attempt}], key=["name"]
        )
    if attempt == 1:
        GATES.first_write_done.set()
        await GATES.database_cut.wait()
    async with session() as s:
        await s.execute(sa.select(sa.func.count()).select_from(repos))
    return Saved(attempt=attempt, inserted=result.inserted, updated=result.updated)


@pytest.fixture
async def through_proxy(postgres_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Any:
    """The test database reached through a proxy, as the process's LANES_DATABASE_URL."""
    async with db.get_engine(postgres_database_url).begin() as conn:
        await conn.run_sync(metadata.create_all)
    direct = make_url(postgres_database_url)
    proxy = TcpProxy(direct.host or "127.0.0.1", direct.port or 5432)
    await proxy.start()
    # Trust auth ignores the password; it is here so the test can look for it in errors.
    url = direct.set(port=proxy.port, password=PASSWORD).render_as_string(hide_password=False)
    monkeypatch.setenv("LANES_DATABASE_URL", url)
    settings.cache_clear()
    try:
        yield proxy
    finally:
        await proxy.cut()
        await db.dispose_engines()
        monkeypatch.undo()
        settings.cache_clear()


async def test_activity_retries_through_an_outage_and_writes_one_row(
    temporal_client: Client, task_queue: str, through_proxy: TcpProxy, postgres_database_url: str
) -> None:
    global GATES
    GATES = Gates()
    async with running_worker(temporal_client, task_queue=task_queue, activities=[save_repo]):
        job = await dispatch(save_repo, SaveRepo(name="api"), task_queue=task_queue)
        await asyncio.wait_for(GATES.first_write_done.wait(), 30)
        await through_proxy.cut()
        GATES.database_cut.set()

        failure = await _failure_after_attempts(job.handle, attempts=2)
        assert failure.application_failure_info.type == "DatabaseUnavailable"
        assert not failure.application_failure_info.non_retryable
        assert "is unavailable" in failure.message
        assert ":***@127.0.0.1" in failure.message
        assert PASSWORD not in str(failure)

        await through_proxy.restore()
        saved = await asyncio.wait_for(job.result(), 30)

    assert saved.attempt >= 3
    assert (saved.inserted, saved.updated) == (0, 1)
    async with session(postgres_database_url) as s:
        rows = (await s.execute(sa.select(repos.c.name, repos.c.written_by_attempt))).all()
    assert [tuple(r) for r in rows] == [("api", saved.attempt)]


async def _failure_after_attempts(handle: Any, attempts: int) -> Any:
    """The job's last failure (as the server stores it) once ``attempts`` attempts have failed."""
    async with asyncio.timeout(30):
        while True:
            described = await handle.describe(include_last_failure=True)
            if described.attempt > attempts and described.has_last_failure():
                return described.raw_info.last_failure
            await asyncio.sleep(0.2)
