"""The local fast path shared by both wrapper workflows: jobs run in chunks, retried per job.

A local activity per job still costs the worker a command, an activation and a marker per job,
and that Python work was what limited ``dispatch_many``. So local jobs run in *chunks*: one local
activity, ``lanes.run_jobs`` (:mod:`core.run_jobs`), runs up to ``chunk_size`` jobs of one
activity concurrently inside the worker and returns every job's outcome; the workflow keeps the
per-job bookkeeping:

- each job's result or error is its own (one failed job never fails its chunk);
- each job is retried by *its* retry policy, from the job's options: the backoff is a durable
  workflow timer, then the job joins a later chunk with its attempt number (``activity.info()``
  inside the job shows the job's key as ``activity_id`` and its attempt);
- a worker that does not serve the activity (another version of the domain does) says so
  instead of failing, and the job goes through the queue as a normal activity.

Everything here is decided from the job's input and recorded results, so it replays the same on
any worker.
"""

from __future__ import annotations

import asyncio
import math
from datetime import datetime, timedelta
from typing import Any

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError, FailureError

with workflow.unsafe.imports_passed_through():
    import pydantic

    from core.activities import ActivityOptions, job_options

__all__ = [
    "MAX_CHUNK",
    "RUN_JOBS",
    "AttemptOutcome",
    "ChunkResult",
    "JobAttempt",
    "JobChunk",
    "JobOutcome",
    "LocalJobs",
    "failure_of",
]

RUN_JOBS = "lanes.run_jobs"
"""Name of the activity that runs a chunk of jobs in-process (every worker serves it)."""

MAX_CHUNK = 100
"""Most jobs in one ``lanes.run_jobs`` call: its result (one marker) stays far below 2 MB."""

CHUNK_MARGIN = timedelta(seconds=10)
"""Time a chunk gets beyond its jobs' attempt timeout, to collect and return their outcomes."""


class JobAttempt(pydantic.BaseModel):
    """One attempt of one job, as sent to ``lanes.run_jobs``."""

    key: str
    input: Any = None
    attempt: int = 1


class JobChunk(pydantic.BaseModel):
    """Input of ``lanes.run_jobs``: attempts of jobs of one activity."""

    activity: str
    jobs: list[JobAttempt]
    attempt_timeout: timedelta
    """Longest single attempt of one job."""


class AttemptOutcome(pydantic.BaseModel):
    """What one attempt did."""

    key: str
    ok: bool
    result: Any = None
    error: str | None = None
    error_type: str | None = None
    non_retryable: bool = False
    next_retry_delay: timedelta | None = None


class ChunkResult(pydantic.BaseModel):
    """Output of ``lanes.run_jobs``: every attempt's outcome, or that the activity is not here."""

    outcomes: list[AttemptOutcome] = []
    unserved: bool = False
    """True when this worker does not serve the activity; then ``outcomes`` is empty."""


class JobOutcome(pydantic.BaseModel):
    """The final outcome of one local job."""

    ok: bool
    result: Any = None
    error: str | None = None
    error_type: str | None = None
    unserved: bool = False
    """The worker that ran the workflow does not serve the activity: run it through the queue."""


class LocalJobs:
    """Runs jobs of one activity locally in chunks, each job retried by its own policy."""

    def __init__(
        self, activity: str, options: ActivityOptions | None, *, concurrency: int = 1
    ) -> None:
        self._activity = activity
        kwargs = job_options(options, local=True)
        self._policy: RetryPolicy = kwargs["retry_policy"]
        self._schedule_to_close: timedelta | None = kwargs["schedule_to_close_timeout"]
        self._attempt_timeout: timedelta = (
            kwargs["start_to_close_timeout"] or self._schedule_to_close or timedelta(minutes=5)
        )
        # Half the allowed concurrency per chunk and two chunks in flight: one chunk's outcomes
        # are recorded while the next one runs.
        self._chunk_size = min(MAX_CHUNK, max(1, math.ceil(concurrency / 2)))
        self._chunks = asyncio.Semaphore(max(1, math.ceil(concurrency / self._chunk_size)))
        self._pending: list[tuple[JobAttempt, asyncio.Future[AttemptOutcome | None]]] = []
        self._flushing = False

    async def run(self, key: str, input: Any) -> JobOutcome:
        """Run one job to its final outcome (retries included)."""
        first = workflow.now()
        attempt = 1
        while True:
            outcome = await self._attempt(JobAttempt(key=key, input=input, attempt=attempt))
            if outcome is None:
                return JobOutcome(ok=False, unserved=True)
            if outcome.ok:
                return JobOutcome(ok=True, result=outcome.result)
            delay = self._retry_delay(outcome, attempt, first)
            if delay is None:
                return JobOutcome(ok=False, error=outcome.error, error_type=outcome.error_type)
            await workflow.sleep(delay)
            attempt += 1

    def _retry_delay(
        self, outcome: AttemptOutcome, attempt: int, first: datetime
    ) -> timedelta | None:
        """The backoff before the next attempt, or None when the job has failed for good."""
        policy = self._policy
        if outcome.non_retryable or outcome.error_type in (policy.non_retryable_error_types or ()):
            return None
        if policy.maximum_attempts and attempt >= policy.maximum_attempts:
            return None
        delay = outcome.next_retry_delay
        if delay is None:
            delay = policy.initial_interval * (policy.backoff_coefficient ** (attempt - 1))
            cap = policy.maximum_interval or policy.initial_interval * 100
            delay = min(delay, cap)
        limit = self._schedule_to_close
        if limit is not None and workflow.now() + delay - first >= limit:
            return None
        return delay

    async def _attempt(self, job: JobAttempt) -> AttemptOutcome | None:
        future: asyncio.Future[AttemptOutcome | None] = asyncio.get_running_loop().create_future()
        self._pending.append((job, future))
        if not self._flushing:
            self._flushing = True
            # Runs after every job that is ready now has queued its attempt: full chunks.
            asyncio.get_running_loop().create_task(self._flush())
        return await future

    async def _flush(self) -> None:
        try:
            while self._pending:
                await self._chunks.acquire()
                taken = self._pending[: self._chunk_size]
                del self._pending[: self._chunk_size]
                asyncio.get_running_loop().create_task(self._run_chunk(taken))
        finally:
            self._flushing = False

    async def _run_chunk(
        self, taken: list[tuple[JobAttempt, asyncio.Future[AttemptOutcome | None]]]
    ) -> None:
        chunk = JobChunk(
            activity=self._activity,
            jobs=[job for job, _ in taken],
            attempt_timeout=self._attempt_timeout,
        )
        try:
            result = await workflow.execute_local_activity(
                RUN_JOBS,
                chunk,
                result_type=ChunkResult,
                start_to_close_timeout=self._attempt_timeout + CHUNK_MARGIN,
                # The runner itself fails only when the worker does (each job's error is in its
                # outcome); the jobs then count it as a failed attempt and retry by their policy.
                retry_policy=RetryPolicy(maximum_attempts=1),
            )
        except FailureError as err:
            cause = (err.cause if isinstance(err, ActivityError) else None) or err
            error = f"the chunk of jobs failed: {cause}"
            result = ChunkResult(
                outcomes=[
                    AttemptOutcome(key=job.key, ok=False, error=error, error_type="ChunkFailed")
                    for job, _ in taken
                ]
            )
        finally:
            self._chunks.release()
        if result.unserved:
            for _, future in taken:
                future.set_result(None)
            return
        for (_, future), outcome in zip(taken, result.outcomes, strict=True):
            future.set_result(outcome)


def failure_of(outcome: JobOutcome) -> ApplicationError:
    """The error a workflow raises for a local job that failed for good."""
    return ApplicationError(
        outcome.error or "the job failed", type=outcome.error_type, non_retryable=True
    )
