"""SyncAllRepositoriesWorkflow: every registered repository, a bounded number at a time, each
under its own child id, continuing as new past a count — and the 15-minute schedule for it."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

from sync_test_git import add_commits, make_repo
from sync_test_support import count, run_sync
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

from core.dev.testing import running_worker
from sync.activities.sync_repository import SyncRepositoryResult
from sync.models import Commit
from sync.schedules import SCHEDULES
from sync.workflows import SyncAllRepositoriesWorkflow, SyncRepositoryWorkflow
from sync.workflows.sync_all_repositories import SyncAllInput, SyncAllResult
from sync.workflows.sync_repository import SyncRepositoryRequest


async def test_every_repository_is_synced_with_bounded_concurrency_across_runs(
    temporal_client: Client, task_queue: str, lanes_database: str, tmp_path: Path
) -> None:
    repos = [make_repo(tmp_path / f"r{i}", 40 + i) for i in range(5)]
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        registered: list[SyncRepositoryResult] = [
            await run_sync(temporal_client, task_queue, str(r)) for r in repos
        ]
        for r in repos:
            add_commits(r, 2)  # new work for the fan-out to pick up
        busy_id = f"sync-repo-{registered[4].repository_id}"
        # Another run is syncing repository 5 right now (its child id is taken): never twice.
        busy = await temporal_client.start_workflow(
            SyncRepositoryWorkflow.run,
            SyncRepositoryRequest(url=str(repos[4])),
            id=busy_id,
            task_queue=f"{task_queue}-nobody-polls",
        )
        try:
            handle = await temporal_client.start_workflow(
                SyncAllRepositoriesWorkflow.run,
                SyncAllInput(max_concurrent=2, continue_as_new_after=3),
                id=f"test-sync-all-{uuid.uuid4().hex[:8]}",
                task_queue=task_queue,
                execution_timeout=timedelta(seconds=120),
            )
            result: SyncAllResult = await handle.result()
        finally:
            await busy.terminate("test over")

    assert result == SyncAllResult(synced=4, failed=0, skipped=1, commits_inserted=8, runs=2)
    first_run = temporal_client.get_workflow_handle(handle.id, run_id=handle.first_execution_run_id)
    assert (await first_run.describe()).status == WorkflowExecutionStatus.CONTINUED_AS_NEW
    # The first run started 3 children, never more than 2 at once.
    in_flight, most = 0, 0
    async for event in first_run.fetch_history_events():
        if event.event_type == EventType.EVENT_TYPE_START_CHILD_WORKFLOW_EXECUTION_INITIATED:
            in_flight += 1
        elif event.event_type == EventType.EVENT_TYPE_CHILD_WORKFLOW_EXECUTION_COMPLETED:
            in_flight -= 1
        most = max(most, in_flight)
    assert most == 2
    counts = [await count(Commit, synced.repository_id) for synced in registered]
    assert counts == [42, 43, 44, 45, 44]  # the busy one was left to its own sync


def test_the_schedule_runs_the_fan_out_every_15_minutes_on_the_sync_queue() -> None:
    [schedule] = SCHEDULES
    resolved = schedule.resolve()  # what the worker hands the server; validates the input
    assert (resolved.id, resolved.workflow, resolved.task_queue) == (
        "sync.all_repositories",
        "SyncAllRepositoriesWorkflow",
        "sync",
    )
    assert resolved.spec_text == "every 0:15:00"
    [args] = resolved.args
    assert SyncAllInput.model_validate(args) == SyncAllInput()
