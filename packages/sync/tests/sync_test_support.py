"""What the sync tests share: running a sync like a user would, and reading what it wrote."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from sqlalchemy import func, select
from temporalio.client import Client

from core import db
from core.activities import ActivityOptions, RetryPolicyInput
from sync.activities.sync_repository import SyncRepositoryResult
from sync.models import Commit, PullRequest, SyncRun
from sync.workflows import SyncRepositoryWorkflow
from sync.workflows.sync_repository import SyncRepositoryRequest

FAST_RETRY = ActivityOptions(
    retry_policy=RetryPolicyInput(name="github_sync", initial_interval=timedelta(seconds=1))
)
"""The domain's own policy with a 1 s first backoff: a retry that should not happen would."""


async def run_sync(
    client: Client,
    task_queue: str,
    url: str,
    *,
    full: bool = False,
    options: ActivityOptions | None = FAST_RETRY,
    workflow_id: str | None = None,
) -> SyncRepositoryResult:
    result: SyncRepositoryResult = await client.execute_workflow(
        SyncRepositoryWorkflow.run,
        SyncRepositoryRequest(url=url, full=full, options=options),
        id=workflow_id or f"test-sync-{uuid.uuid4().hex[:10]}",
        task_queue=task_queue,
        execution_timeout=timedelta(seconds=120),
    )
    return result


async def count(model: Any, repository_id: int) -> int:
    async with db.session() as s:
        return int(
            await s.scalar(
                select(func.count()).select_from(model).where(model.repository_id == repository_id)
            )
            or 0
        )


async def distinct_shas(repository_id: int) -> int:
    async with db.session() as s:
        return int(
            await s.scalar(
                select(func.count(func.distinct(Commit.sha))).where(
                    Commit.repository_id == repository_id
                )
            )
            or 0
        )


async def commit(repository_id: int, sha: str) -> Commit:
    async with db.session() as s:
        return (
            await s.execute(
                select(Commit).where(Commit.repository_id == repository_id, Commit.sha == sha)
            )
        ).scalar_one()


async def pull(repository_id: int, number: int) -> PullRequest:
    async with db.session() as s:
        return (
            await s.execute(
                select(PullRequest).where(
                    PullRequest.repository_id == repository_id, PullRequest.number == number
                )
            )
        ).scalar_one()


async def runs(repository_id: int | None = None) -> list[SyncRun]:
    async with db.session() as s:
        query = select(SyncRun).order_by(SyncRun.id)
        if repository_id is not None:
            query = query.where(SyncRun.repository_id == repository_id)
        return list((await s.execute(query)).scalars())


__all__ = ["FAST_RETRY", "Commit", "PullRequest", "commit", "count", "pull", "run_sync", "runs"]
