"""``BatchWorkflow``: many small jobs of one registered activity in one workflow.

The server's cost of durability (a workflow start, its tasks, its history) is paid per batch, not
per job, which is how bulk work (a campaign's sends, a backfill) goes faster than one workflow per
job — see ``core.bulk.dispatch_many``, which splits the jobs into batches and starts them.

Per job: the activity's own retry policy and timeouts, its own result or error (a failed job never
fails the batch), and its key as the activity id, so the activity can use
``activity.info().activity_id`` as an idempotency key for its side effect. Short activities (no
heartbeat, at most a minute per attempt, or declared ``local=True``) run as local activities,
which write one marker event per job instead of three events and a round trip each.

A batch holds at most :data:`MAX_BATCH_SIZE` jobs, so its history stays far below Temporal's
51,200-event and 50 MB limits; ``progress`` is a query.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    import pydantic

    from core import activities
    from core.activities import ActivityConfig, ActivityOptions

__all__ = [
    "MAX_BATCH_SIZE",
    "BatchInput",
    "BatchJob",
    "BatchProgress",
    "BatchResult",
    "BatchWorkflow",
    "JobResult",
]

MAX_BATCH_SIZE = 1000
"""Most jobs in one batch workflow: ~1,000 marker events plus task events, far below 51,200."""

SHORT = timedelta(minutes=1)
"""An activity whose attempt takes at most this long (and does not heartbeat) runs locally."""


class BatchJob(pydantic.BaseModel):
    """One job: its idempotency key and its input."""

    key: str = pydantic.Field(min_length=1)
    input: Any = None


class BatchInput(pydantic.BaseModel):
    """A batch of jobs for one activity."""

    model_config = pydantic.ConfigDict(extra="forbid")

    activity: str = pydantic.Field(min_length=1)
    jobs: list[BatchJob] = pydantic.Field(max_length=MAX_BATCH_SIZE)
    options: ActivityOptions | None = None
    concurrency: int = pydantic.Field(default=50, ge=1, le=MAX_BATCH_SIZE)
    """Jobs of this batch running at once."""


class JobResult(pydantic.BaseModel):
    """What became of one job."""

    key: str
    ok: bool
    result: Any = None
    error: str | None = None
    error_type: str | None = None


class BatchProgress(pydantic.BaseModel):
    """How far a batch (or a whole bulk dispatch) is."""

    total: int
    done: int = 0
    failed: int = 0


class BatchResult(pydantic.BaseModel):
    """Every job's outcome, in the order the jobs were given."""

    activity: str
    results: list[JobResult]


# Outside the sandbox, on purpose: see core.workflows' docstring.
@workflow.defn(name="BatchWorkflow", sandboxed=False)
class BatchWorkflow:
    """Runs a batch of jobs of one registered activity with bounded concurrency."""

    def __init__(self) -> None:
        self._progress = BatchProgress(total=0)

    @workflow.query
    def progress(self) -> BatchProgress:
        """Jobs done and failed so far."""
        return self._progress

    @workflow.run
    async def run(self, batch: BatchInput) -> BatchResult:
        task_queue = workflow.info().task_queue
        config = activities.served_config(batch.activity, task_queue)
        self._progress = BatchProgress(total=len(batch.jobs))
        results: list[JobResult | None] = [None] * len(batch.jobs)
        slots = asyncio.Semaphore(batch.concurrency)

        async def run_one(index: int, job: BatchJob) -> None:
            async with slots:
                results[index] = await self._run_job(config, batch.options, job, task_queue)
            self._progress.done += 1
            if not results[index].ok:  # type: ignore[union-attr]
                self._progress.failed += 1

        await asyncio.gather(*(run_one(i, job) for i, job in enumerate(batch.jobs)))
        return BatchResult(activity=config.name, results=[r for r in results if r is not None])

    async def _run_job(
        self,
        config: ActivityConfig,
        options: ActivityOptions | None,
        job: BatchJob,
        task_queue: str,
    ) -> JobResult:
        try:
            config.validate_input(job.input)
        except ValueError as err:
            return JobResult(key=job.key, ok=False, error=str(err), error_type="InvalidInput")
        args = [] if config.input_type is None else [job.input]
        queue = activities.resolve_queue(config, task_queue)
        try:
            if _runs_local(config, options):  # input and config only: replays the same
                value = await workflow.execute_local_activity(
                    config.name, args=args, activity_id=job.key, **config.local_options(options)
                )
            else:
                value = await workflow.execute_activity(
                    config.name,
                    args=args,
                    activity_id=job.key,
                    **config.execution_options(options, task_queue=queue),
                )
        except FailureError as err:
            # A failed activity arrives as ActivityError(cause=...); a failed *local* activity
            # arrives as its cause itself (ApplicationError, TimeoutError) in this SDK.
            cause = (err.cause if isinstance(err, ActivityError) else None) or err
            error_type = cause.type if isinstance(cause, ApplicationError) else None
            return JobResult(
                key=job.key,
                ok=False,
                error=str(cause),
                error_type=error_type or type(cause).__name__,
            )
        return JobResult(key=job.key, ok=True, result=value)


def _runs_local(config: ActivityConfig, options: ActivityOptions | None) -> bool:
    if (options is not None and options.local is not None) or config.local:
        return config.runs_local(options)
    limit = config.start_to_close_timeout or config.schedule_to_close_timeout
    return config.heartbeat_timeout is None and limit is not None and limit <= SHORT
