"""SyncRepositoryWorkflow: sync one repository (registered on its first sync), close its run.

The ``sync_repository`` activity registers the repository itself, in the same transaction that
starts its run row, so the workflow runs one activity, not a separate ``register_repository``
first. Runs started before that change have the extra step in their history; the
``workflow.patched`` branch below replays them unchanged.
"""

from __future__ import annotations

import pydantic
from temporalio import workflow
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from core import durable
    from core.activities import ActivityOptions
    from sync.activities.repositories import (
        RecordSyncRunInput,
        RegisterRepositoryInput,
        record_sync_run,
        register_repository,
    )
    from sync.activities.sync_repository import (
        SyncRepositoryInput,
        SyncRepositoryResult,
        sync_repository,
    )

__all__ = ["SyncRepositoryRequest", "SyncRepositoryWorkflow"]

_REGISTERED_BY_THE_ACTIVITY = "sync-repository-registers-in-the-activity"


class SyncRepositoryRequest(pydantic.BaseModel):
    url: str
    full: bool = False
    options: ActivityOptions | None = None
    """Overrides of the sync activity's registered config (retry policy, heartbeat timeout)."""


@workflow.defn
class SyncRepositoryWorkflow:
    @workflow.run
    async def run(self, request: SyncRepositoryRequest) -> SyncRepositoryResult:
        if not workflow.patched(_REGISTERED_BY_THE_ACTIVITY):
            # Only when replaying a history recorded before the patch (see the module docs).
            await durable.run_activity(
                register_repository, RegisterRepositoryInput(url=request.url)
            )
        info = workflow.info()
        run_key = f"{info.workflow_id}/{info.run_id}"
        try:
            result: SyncRepositoryResult = await durable.run_activity(
                sync_repository,
                SyncRepositoryInput(url=request.url, full=request.full, run_key=run_key),
                options=request.options,
            )
        except ActivityError as err:
            # The activity records its own errors; a timeout or a dead worker on the last
            # attempt cannot, so the run row is closed here.
            cause = err.cause or err
            await durable.run_activity(
                record_sync_run,
                RecordSyncRunInput(
                    run_key=run_key, status="failed", error=f"{type(cause).__name__}: {cause}"
                ),
            )
            raise
        workflow.logger.info("synced %s: %d new commits", result.url, result.commits_inserted)
        return result
