"""``BatchWorkflow``: many small jobs of one activity in one workflow.

The server's cost of durability (a workflow start, its tasks, its history) is paid per batch, not
per job, which is how bulk work (a campaign's sends, a backfill) goes faster than one workflow per
job — see ``core.bulk.dispatch_many``, which splits the jobs into batches and starts them.

Per job: its own result or error (a failed job never fails the batch), its own retries by the
job's retry policy, and its key as the activity id, so the activity can use
``activity.info().activity_id`` as an idempotency key for its side effect. Local jobs
(``options.local``, decided by ``dispatch_many`` from the one rule in
:meth:`core.activities.ActivityConfig.runs_local`) run in chunks inside local activities
(:mod:`core.workflows._local`): one marker event per chunk, not per job. Other jobs are one
activity each, on the job's queue. Like ``SingleActivityWorkflow``, it reads only its input.

A batch holds at most :data:`MAX_BATCH_SIZE` jobs, so its history stays far below Temporal's
51,200-event and 50 MB limits; ``progress`` is a query.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    import pydantic

    from core.activities import ActivityOptions, job_options
    from core.workflows._input import single_input
    from core.workflows._local import LocalJobs

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
"""Most jobs in one batch workflow; its history stays far below 51,200 events."""


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
    """How every job runs; fully resolved by ``dispatch_many`` (defaults for what is left out)."""
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
    async def run(self, *args: Any) -> BatchResult:
        batch = single_input("BatchWorkflow", args, BatchInput)
        self._progress = BatchProgress(total=len(batch.jobs))
        results: list[JobResult | None] = [None] * len(batch.jobs)
        local = (
            LocalJobs(batch.activity, batch.options, concurrency=batch.concurrency)
            if batch.options is not None and batch.options.local
            else None
        )
        slots = asyncio.Semaphore(batch.concurrency)

        async def run_one(index: int, job: BatchJob) -> None:
            result = None
            if local is not None:
                outcome = await local.run(job.key, job.input)
                if not outcome.unserved:
                    result = JobResult(
                        key=job.key,
                        ok=outcome.ok,
                        result=outcome.result,
                        error=outcome.error,
                        error_type=outcome.error_type,
                    )
                # else: this worker does not serve the activity (another version does).
            if result is None:
                async with slots:
                    result = await self._run_remote(batch, job)
            results[index] = result
            self._progress.done += 1
            if not result.ok:
                self._progress.failed += 1

        await asyncio.gather(*(run_one(i, job) for i, job in enumerate(batch.jobs)))
        return BatchResult(activity=batch.activity, results=[r for r in results if r is not None])

    async def _run_remote(self, batch: BatchInput, job: BatchJob) -> JobResult:
        """One job as an activity of its own, on the job's queue."""
        try:
            value = await workflow.execute_activity(
                batch.activity,
                args=[] if job.input is None else [job.input],
                activity_id=job.key,
                **job_options(batch.options, local=False),
            )
        except FailureError as err:
            cause = (err.cause if isinstance(err, ActivityError) else None) or err
            error_type = cause.type if isinstance(cause, ApplicationError) else None
            return JobResult(
                key=job.key,
                ok=False,
                error=str(cause),
                error_type=error_type or type(cause).__name__,
            )
        return JobResult(key=job.key, ok=True, result=value)
