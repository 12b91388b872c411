"""SyncAllRepositoriesWorkflow: sync every registered repository through child workflows.

Each repository is a child ``SyncRepositoryWorkflow`` with id ``sync-repo-<id>``: the server
refuses a second running workflow with that id, so an overlapping run (a manual one, or a slow
scheduled one) never syncs a repository twice — the duplicate start is counted as ``skipped``.
At most ``max_concurrent`` children run at once. Repositories are read
``continue_as_new_after`` at a time; past that the workflow continues as new with the totals so
far, keeping its history bounded however many repositories there are.
"""

from __future__ import annotations

import asyncio
from typing import Any

import pydantic
from temporalio import workflow
from temporalio.exceptions import WorkflowAlreadyStartedError

with workflow.unsafe.imports_passed_through():
    from core import durable
    from sync.activities.repositories import (
        ListRepositoriesInput,
        RepositoryPage,
        list_repositories,
    )
    from sync.activities.sync_repository import SyncRepositoryResult
    from sync.workflows.sync_repository import SyncRepositoryRequest, SyncRepositoryWorkflow

__all__ = ["SyncAllInput", "SyncAllRepositoriesWorkflow", "SyncAllResult"]


class SyncAllResult(pydantic.BaseModel):
    synced: int = 0
    failed: int = 0
    skipped: int = 0
    """Already being synced by another run (a child with the same id was running)."""
    commits_inserted: int = 0
    runs: int = 1
    """Workflow runs this took (continue-as-new)."""


class SyncAllInput(pydantic.BaseModel):
    full: bool = False
    max_concurrent: int = pydantic.Field(default=4, ge=1, le=100)
    """Children running at once. Default: 4."""
    continue_as_new_after: int = pydantic.Field(default=500, ge=1, le=5000)
    """Repositories per workflow run before continuing as new. Default: 500."""
    after_id: int = 0
    """Where this run starts (set by continue-as-new)."""
    totals: SyncAllResult = pydantic.Field(default_factory=SyncAllResult)
    """Counts of the earlier runs (set by continue-as-new)."""


@workflow.defn
class SyncAllRepositoriesWorkflow:
    @workflow.run
    async def run(self, input: SyncAllInput) -> SyncAllResult:
        page: RepositoryPage = await durable.run_activity(
            list_repositories,
            ListRepositoriesInput(after_id=input.after_id, limit=input.continue_as_new_after),
        )
        totals = input.totals.model_copy()
        running: list[Any] = []
        for repository in page.repositories:
            while len(running) >= input.max_concurrent:
                done, running = await workflow.wait(running, return_when=asyncio.FIRST_COMPLETED)
                _count(done, totals)
            try:
                handle = await durable.start_child(
                    SyncRepositoryWorkflow.run,
                    SyncRepositoryRequest(url=repository.url, full=input.full),
                    id=f"sync-repo-{repository.id}",
                )
            except WorkflowAlreadyStartedError:
                workflow.logger.info("%s is being synced already; skipped", repository.url)
                totals.skipped += 1
                continue
            running.append(handle)
        if running:
            done, _ = await workflow.wait(running)
            _count(done, totals)
        if len(page.repositories) == input.continue_as_new_after:
            workflow.continue_as_new(
                input.model_copy(
                    update={
                        "after_id": page.repositories[-1].id,
                        "totals": totals.model_copy(update={"runs": totals.runs + 1}),
                    }
                )
            )
        return totals


def _count(done: list[Any], totals: SyncAllResult) -> None:
    for child in done:
        if child.exception() is not None:
            totals.failed += 1
            continue
        result: SyncRepositoryResult = child.result()
        totals.synced += 1
        totals.commits_inserted += result.commits_inserted
