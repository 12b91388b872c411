"""Retention on both databases: the daily purge deletes only rows older than their owner
declared, in bounded batches; rows still in flight (time column NULL) are never touched."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from core import db
from core.db import retention
from core.db.ledger import IdempotencyRecord
from core.dev.testing import running_worker
from core.dispatch import dispatch
from operations.activities.maintenance import (
    PurgeExpiredInput,
    PurgeExpiredResult,
    purge_expired,
)
from operations.models import CheckResult, Monitor

# The sync domain's tables, as core's discovery registers them: a domain never imports another.
retention.declared()
REPOSITORIES = db.Base.metadata.tables["sync_repositories"]
SYNC_RUNS = db.Base.metadata.tables["sync_runs"]

NOW = datetime.now(UTC)


def test_core_collects_every_owners_declaration() -> None:
    declared = {(r.table, r.column, r.age) for r in retention.declared()}
    assert ("lanes_idempotency", "completed_at", timedelta(days=30)) in declared
    assert ("sync_runs", "finished_at", timedelta(days=90)) in declared
    assert ("operations_check_results", "checked_at", timedelta(days=30)) in declared


async def seed() -> None:
    async with db.session() as s:
        for i, age in enumerate([None, 1, 29, 31, 31, 400]):
            done = None if age is None else NOW - timedelta(days=age)
            s.add(
                IdempotencyRecord(
                    key=f"k{i}",
                    state="claimed" if done is None else "done",
                    owner="test",
                    claimed_at=NOW - timedelta(days=500),  # old claims: only completion counts
                    lease_until=NOW,
                    completed_at=done,
                )
            )
        monitor = Monitor(url="http://127.0.0.1:9/")
        s.add(monitor)
        repository_id = (
            await s.execute(
                REPOSITORIES.insert()
                .values(url="file:///repo", kind="git")
                .returning(REPOSITORIES.c.id)
            )
        ).scalar_one()
        await s.flush()
        for i, age in enumerate([None, 89, 91, 91, 91]):
            await s.execute(
                SYNC_RUNS.insert().values(
                    run_key=f"run-{i}",
                    repository_id=repository_id,
                    status="running" if age is None else "succeeded",
                    full=False,
                    attempts=1,
                    commits_inserted=0,
                    pulls_inserted=0,
                    pulls_updated=0,
                    finished_at=None if age is None else NOW - timedelta(days=age),
                )
            )
        for days in range(0, 60, 2):  # 30 results, 15 older than 30 days
            s.add(
                CheckResult(
                    monitor_id=monitor.id, checked_at=NOW - timedelta(days=days, hours=1), ok=True
                )
            )


async def count(model: type, where: object = True) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(where)) or 0)


async def test_the_purge_removes_only_what_is_older_than_declared(
    temporal_client: Client, task_queue: str, lanes_database: str
) -> None:
    await seed()
    async with running_worker(temporal_client, "operations", task_queue=task_queue):
        job = await dispatch(
            "purge_expired", {"batch_size": 4}, task_queue=task_queue, client=temporal_client
        )
        result: PurgeExpiredResult = await job.result()
    deleted = {t.table: t.deleted for t in result.tables}
    assert deleted["lanes_idempotency"] == 3
    assert deleted["sync_runs"] == 3
    assert deleted["operations_check_results"] == 15
    assert all(t.complete for t in result.tables)
    async with db.session() as s:
        keys = set((await s.execute(select(IdempotencyRecord.key))).scalars())
        runs = set((await s.execute(select(SYNC_RUNS.c.run_key))).scalars())
        oldest = await s.scalar(select(func.min(CheckResult.checked_at)))
    assert keys == {"k0", "k1", "k2"}  # the claim in flight, 1 and 29 days old
    assert runs == {"run-0", "run-1"}  # the running one and the 89-day-old one
    assert await count(CheckResult) == 15
    assert oldest is not None
    assert NOW - oldest.replace(tzinfo=UTC) < timedelta(days=30)


async def test_max_batches_bounds_one_run_and_the_next_run_finishes(lanes_database: str) -> None:
    await seed()
    [declared] = [r for r in retention.declared() if r.table == "operations_check_results"]
    first = await retention.purge(declared, batch_size=4, max_batches=2)
    assert (first.deleted, first.batches, first.complete) == (8, 2, False)
    second = await retention.purge(declared, batch_size=4, max_batches=2)
    assert (second.deleted, second.complete) == (7, True)
    assert await count(CheckResult) == 15


async def test_a_declaration_naming_an_unknown_column_fails_the_purge_for_good(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    bad = retention.Retention("lanes_idempotency", "finished", timedelta(days=1))
    monkeypatch.setattr(retention, "CORE_RETENTION", [bad])
    with pytest.raises(ApplicationError) as failed:
        await purge_expired(PurgeExpiredInput())
    assert failed.value.non_retryable
    assert failed.value.message == (
        "retention of 'lanes_idempotency' names no column 'finished'; "
        "fix the RETENTION list that declares it"
    )
