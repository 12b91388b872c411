"""Syncing a real git repository: every commit once, then only what is new; bad paths fail fast."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sync_test_git import add_commits, expected_stats, make_repo
from sync_test_support import commit, count, distinct_shas, run_sync, runs
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from core import db
from core.dev.testing import running_worker
from sync.activities.sync_repository import SyncRepositoryInput, sync_repository
from sync.models import Commit, Repository


async def test_a_large_repository_syncs_once_then_incrementally(
    temporal_client: Client, task_queue: str, lanes_database: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "big", 3000)
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        first = await run_sync(temporal_client, task_queue, str(repo))
        again = await run_sync(temporal_client, task_queue, repo.as_uri())  # the same repository
        new = add_commits(repo, 7)
        third = await run_sync(temporal_client, task_queue, str(repo))
        full = await run_sync(temporal_client, task_queue, str(repo), full=True)

    assert (first.kind, first.commits_inserted, first.attempt) == ("git", 3000, 1)
    assert again.repository_id == first.repository_id
    assert (again.commits_inserted, again.not_modified) == (0, True)
    assert third.commits_inserted == 7
    assert full.commits_inserted == 0  # re-read everything, wrote nothing new
    assert await count(Commit, first.repository_id) == 3007
    assert await distinct_shas(first.repository_id) == 3007

    latest = await commit(first.repository_id, new[-1])
    assert latest.message == "commit 3007\n\nbody of commit 3007"
    assert (latest.author_name, latest.author_email) == ("Dev 4", "dev4@example.com")
    authored = datetime.fromtimestamp(1_700_000_000 + 3007 * 60, UTC)  # see sync_test_git
    assert latest.authored_at.replace(tzinfo=UTC) == authored  # SQLite: naive, in UTC
    assert (latest.files_changed, latest.additions, latest.deletions) == expected_stats(3007)

    async with db.session() as s:
        stored = (await s.execute(select(Repository))).scalar_one()
    assert stored.url == repo.as_uri()
    assert stored.last_cursor == new[-1]
    recorded = await runs(first.repository_id)
    assert [r.status for r in recorded] == ["succeeded"] * 4
    assert [r.commits_inserted for r in recorded] == [3000, 0, 7, 0]


async def test_commit_stats_and_deletions_come_from_numstat(
    temporal_client: Client, task_queue: str, lanes_database: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "small", 30)
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        result = await run_sync(temporal_client, task_queue, str(repo))
    async with db.session() as s:
        rows = (await s.execute(select(Commit).order_by(Commit.committed_at))).scalars().all()
    assert [(r.files_changed, r.additions, r.deletions) for r in rows] == [
        expected_stats(i) for i in range(1, 31)
    ]
    assert result.commits_inserted == 30


@pytest.mark.parametrize("what", ["missing", "not a repository"])
async def test_a_path_that_is_not_a_repository_fails_at_once_with_the_error_recorded(
    temporal_client: Client, task_queue: str, lanes_database: str, tmp_path: Path, what: str
) -> None:
    path = tmp_path / "nothing-here"
    if what == "not a repository":
        path.mkdir()
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await run_sync(temporal_client, task_queue, str(path))
    cause = failure.value.cause.cause  # workflow <- activity <- application error
    assert isinstance(cause, ApplicationError)
    assert cause.type == "NotFoundError"
    assert str(path) in cause.message
    [run] = await runs()
    assert (run.status, run.attempts) == ("failed", 1)
    assert run.error is not None and run.error.startswith("NotFoundError: ")


async def test_a_sync_is_one_activity_the_activity_registers_the_repository(
    temporal_client: Client, task_queue: str, lanes_database: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "small", 3)
    workflow_id = f"test-sync-one-step-{uuid.uuid4().hex[:8]}"
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        result = await run_sync(temporal_client, task_queue, str(repo), workflow_id=workflow_id)
    assert result.commits_inserted == 3

    history = await temporal_client.get_workflow_handle(workflow_id).fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes.activity_type.name
        for e in history.events
        if e.HasField("activity_task_scheduled_event_attributes")
    ]
    assert scheduled == ["sync_repository"]
    async with db.session() as s:
        stored = (await s.execute(select(Repository))).scalar_one()
    assert stored.id == result.repository_id


async def test_a_standalone_sync_job_keys_its_run_by_the_activity(
    temporal_client: Client, task_queue: str, lanes_database: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "alone", 2)
    job_id = f"test-sync-alone-{uuid.uuid4().hex[:8]}"
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        handle = await temporal_client.start_activity(
            sync_repository,
            SyncRepositoryInput(url=str(repo)),
            id=job_id,
            task_queue=task_queue,
            start_to_close_timeout=timedelta(seconds=60),
        )
        result = await handle.result()
    assert result.commits_inserted == 2
    (run,) = await runs(result.repository_id)
    assert run.run_key.startswith(f"activity/{job_id}/")
    assert "None" not in run.run_key
