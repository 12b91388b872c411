"""``lanes.run_jobs``: the local activity that runs a chunk of jobs inside the worker.

The workflows' fast path (:mod:`core.workflows._local`) hands it up to a hundred attempts of jobs
of one activity at once; it runs them concurrently in this process and returns each attempt's
outcome, so the worker does one local activity's work per chunk instead of per job. Each job
runs as if it were its own activity: ``activity.info()`` inside it shows the job's key as
``activity_id``, its attempt number and timeout, and its input is validated against the
activity's input model first (a bad input is a non-retryable ``InvalidInput``). A synchronous
activity runs in a thread, as the worker would run it.

What is *not* per job here: a telemetry log line and span per job (there is one for the chunk),
and heartbeats (a local activity cannot heartbeat; ``defn`` refuses ``local=True`` with one).

An activity this worker does not serve is not an error: the chunk answers ``unserved`` and the
workflow sends those jobs through the queue to a worker that does (another version of the
domain, during a rolling deploy).
"""

from __future__ import annotations

import asyncio
import contextvars
import dataclasses
import inspect
from typing import Any

import pydantic_core
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import _served
from core.activities import ActivityConfig
from core.workflows._local import RUN_JOBS, AttemptOutcome, ChunkResult, JobAttempt, JobChunk

__all__ = ["run_jobs"]


@activity.defn(name=RUN_JOBS)
async def run_jobs(chunk: JobChunk) -> ChunkResult:
    """Run every attempt of ``chunk`` concurrently; each one's outcome, in order."""
    info = activity.info()
    config = _served.served(chunk.activity, info.task_queue)
    if config is None:
        return ChunkResult(unserved=True)
    outcomes = await asyncio.gather(*(_attempt(config, chunk, job) for job in chunk.jobs))
    return ChunkResult(outcomes=list(outcomes))


async def _attempt(config: ActivityConfig, chunk: JobChunk, job: JobAttempt) -> AttemptOutcome:
    # This runs in its own task (gather), so the context set here is this job's alone.
    outer = activity._Context.current()
    job_info = dataclasses.replace(
        outer.info(),
        activity_id=job.key,
        activity_type=config.name,
        attempt=job.attempt,
        start_to_close_timeout=chunk.attempt_timeout,
    )
    activity._Context.set(dataclasses.replace(outer, info=lambda: job_info, _logger_details=None))
    try:
        value = config.validate_input(job.input)
    except ValueError as err:
        return AttemptOutcome(
            key=job.key, ok=False, error=str(err), error_type="InvalidInput", non_retryable=True
        )
    args = [] if value is None else [value]
    timeout = chunk.attempt_timeout.total_seconds()
    try:
        if inspect.iscoroutinefunction(config.fn):
            result = await asyncio.wait_for(config.fn(*args), timeout)
        else:
            context = contextvars.copy_context()
            call = asyncio.get_running_loop().run_in_executor(None, context.run, config.fn, *args)
            result = await asyncio.wait_for(call, timeout)
    except ApplicationError as err:
        return AttemptOutcome(
            key=job.key,
            ok=False,
            error=err.message,
            error_type=err.type or "ApplicationError",
            non_retryable=err.non_retryable,
            next_retry_delay=err.next_retry_delay,
        )
    except TimeoutError:
        return AttemptOutcome(
            key=job.key,
            ok=False,
            error=f"attempt {job.attempt} of {config.name!r} took over {chunk.attempt_timeout}",
            error_type="StartToCloseTimeout",
        )
    except Exception as err:
        return AttemptOutcome(key=job.key, ok=False, error=str(err), error_type=type(err).__name__)
    return AttemptOutcome(key=job.key, ok=True, result=_jsonable(result))


def _jsonable(value: Any) -> Any:
    return pydantic_core.to_jsonable_python(value)
