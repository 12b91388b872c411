"""Job operations: look up, wait for, cancel, pause, unpause, terminate and list jobs by id.

For people (``lanes jobs``) and for frontends that poll a job they dispatched::

    from core import jobs

    status = await jobs.status("report-2026-12")     # JobStatus: state, attempt, last error...
    if status.finished:
        report = await jobs.result("report-2026-12")
    await jobs.cancel("report-2026-12", reason="user gave up")

A job here is what :func:`core.dispatch.dispatch` started: a standalone activity. A job that ran
as a ``SingleActivityWorkflow`` (``LANES_DISPATCH_MODE=workflow``) answers :func:`status`,
:func:`result`, :func:`cancel` and :func:`terminate` too; pause and unpause need the activity
engine, and :func:`list_jobs` lists standalone activities only.

Cancelling reaches a running attempt only through its heartbeat (the activity sees
``CancelledError`` on its next ``activity.heartbeat()``); a job waiting for a retry or its
start delay is cancelled at once. Pausing lets the running attempt finish or fail, and holds
every later attempt until :func:`unpause`.
"""

from __future__ import annotations

import builtins
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from urllib.parse import quote

from temporalio.client import (
    ActivityExecution,
    ActivityExecutionDescription,
    ActivityExecutionStatus,
    ActivityFailureError,
    Client,
    PendingActivityState,
    WorkflowExecutionStatus,
    WorkflowFailureError,
)
from temporalio.service import RPCError, RPCStatusCode

from core import activities
from core._jobs import JobFailedError, result_slot, root_cause
from core.client import get_client
from core.settings import settings

__all__ = [
    "JobNotFound",
    "JobState",
    "JobStatus",
    "cancel",
    "list_jobs",
    "pause",
    "result",
    "status",
    "terminate",
    "unpause",
]


class JobNotFound(LookupError):
    """No job with this id (or it is older than the namespace's retention)."""


class JobState(StrEnum):
    """Where a job is."""

    SCHEDULED = "scheduled"
    """Waiting for a worker, its start delay or its next retry."""
    RUNNING = "running"
    """An attempt is running on a worker."""
    PAUSED = "paused"
    CANCEL_REQUESTED = "cancel_requested"
    COMPLETED = "completed"
    FAILED = "failed"
    CANCELED = "canceled"
    TERMINATED = "terminated"
    TIMED_OUT = "timed_out"


_FINISHED = {
    JobState.COMPLETED,
    JobState.FAILED,
    JobState.CANCELED,
    JobState.TERMINATED,
    JobState.TIMED_OUT,
}


@dataclass(frozen=True)
class JobStatus:
    """One job as the server sees it."""

    id: str
    run_id: str | None
    activity: str
    task_queue: str
    state: JobState
    attempt: int | None
    """Current attempt (1 for the first); ``None`` in a listing, which does not carry it."""
    last_error: str | None
    """The last failed attempt's error (``Type: message``), if any."""
    scheduled_at: datetime | None
    closed_at: datetime | None
    ui_url: str
    """The job's page in the Temporal UI (``LANES_UI_URL``)."""

    @property
    def finished(self) -> bool:
        """True once the job will not run again."""
        return self.state in _FINISHED


async def status(job_id: str, *, client: Client | None = None) -> JobStatus:
    """The job's state, attempt and last error; :class:`JobNotFound` when there is none."""
    client = client or await get_client()
    try:
        described = await client.get_activity_handle(job_id).describe(include_last_failure=True)
    except RPCError as err:
        if not _no_such_activity(err):
            raise
        return await _workflow_status(client, job_id)
    return await _from_description(client, described)


async def result(
    job_id: str,
    *,
    activity: str | Callable[..., Any] | None = None,
    client: Client | None = None,
) -> Any:
    """Wait for the job's result; typed when ``activity`` (name or function) is known here.

    Raises :class:`core.dispatch.JobFailedError` when the job did not succeed.
    """
    client = client or await get_client()
    config = activities.config_of(activity) if activity is not None else None
    try:
        async with result_slot():
            raw = await client.get_activity_handle(job_id).result()
    except ActivityFailureError as err:
        raise JobFailedError(job_id, root_cause(err)) from err
    except RPCError as err:
        if not _no_such_activity(err):
            raise
        try:
            async with result_slot():
                raw = await client.get_workflow_handle(job_id).result()
        except WorkflowFailureError as failure:
            raise JobFailedError(job_id, root_cause(failure)) from failure
        except RPCError as missing:
            raise _not_found(job_id, missing) from None
    if config is None or config.output_type is None or raw is None:
        return raw
    return activities.type_adapter(config.output_type).validate_python(raw)


async def cancel(job_id: str, *, reason: str | None = None, client: Client | None = None) -> None:
    """Ask the job to stop: at once when it waits, at its next heartbeat when it runs."""
    client = client or await get_client()
    if await _is_activity(client, job_id):
        await client.get_activity_handle(job_id).cancel(reason=reason)
    else:
        await client.get_workflow_handle(job_id).cancel()


async def terminate(
    job_id: str, *, reason: str | None = None, client: Client | None = None
) -> None:
    """End the job now; a running attempt is not told and its result is dropped."""
    client = client or await get_client()
    if await _is_activity(client, job_id):
        await client.get_activity_handle(job_id).terminate(reason=reason)
    else:
        await client.get_workflow_handle(job_id).terminate(reason=reason)


async def pause(job_id: str, *, reason: str | None = None, client: Client | None = None) -> None:
    """Hold the job: a running attempt may finish; no further attempt starts until unpaused."""
    client = client or await get_client()
    await _require_activity(client, job_id, "pause")
    await client.get_activity_handle(job_id).pause(reason=reason)


async def unpause(job_id: str, *, reason: str | None = None, client: Client | None = None) -> None:
    """Let a paused job run again."""
    client = client or await get_client()
    await _require_activity(client, job_id, "unpause")
    await client.get_activity_handle(job_id).unpause(reason=reason)


async def list_jobs(
    *,
    activity: str | None = None,
    state: JobState | str | None = None,
    limit: int = 50,
    client: Client | None = None,
) -> builtins.list[JobStatus]:
    """Recent jobs, newest first, finished ones included; filtered by activity and state."""
    client = client or await get_client()
    clauses = []
    if activity:
        clauses.append(f"ActivityType = '{_quote(activity)}'")
    if state:
        clauses.append(f"ExecutionStatus = '{_list_status(JobState(state))}'")
    query = " AND ".join(clauses)
    found = [a async for a in client.list_activities(query, limit=limit)]
    found.sort(key=lambda a: a.schedule_time, reverse=True)
    return [_from_listing(client, a) for a in found]


async def _from_description(client: Client, described: ActivityExecutionDescription) -> JobStatus:
    failure = await described.last_failure() if described.has_last_failure() else None
    if failure is None and described.has_outcome_failure():
        failure = await described.outcome_failure()
    return JobStatus(
        id=described.activity_id,
        run_id=described.activity_run_id,
        activity=described.activity_type,
        task_queue=described.task_queue,
        state=_state(described.status, described.run_state),
        attempt=described.attempt,
        last_error=_error_text(failure) if failure is not None else None,
        scheduled_at=described.schedule_time,
        closed_at=described.close_time,
        ui_url=_ui_url(client, described.activity_id, described.activity_run_id),
    )


def _from_listing(client: Client, found: ActivityExecution) -> JobStatus:
    return JobStatus(
        id=found.activity_id,
        run_id=found.activity_run_id,
        activity=found.activity_type,
        task_queue=found.task_queue,
        state=_state(found.status, None),
        attempt=None,
        last_error=None,
        scheduled_at=found.schedule_time,
        closed_at=found.close_time,
        ui_url=_ui_url(client, found.activity_id, found.activity_run_id),
    )


async def _workflow_status(client: Client, job_id: str) -> JobStatus:
    try:
        described = await client.get_workflow_handle(job_id).describe()
    except RPCError as err:
        raise _not_found(job_id, err) from None
    raw = described.raw_description
    attempt, last_error = None, None
    for pending in raw.pending_activities:
        attempt = pending.attempt
        if pending.HasField("last_failure"):
            last_error = pending.last_failure.message
    state = {
        WorkflowExecutionStatus.RUNNING: JobState.RUNNING,
        WorkflowExecutionStatus.COMPLETED: JobState.COMPLETED,
        WorkflowExecutionStatus.FAILED: JobState.FAILED,
        WorkflowExecutionStatus.CANCELED: JobState.CANCELED,
        WorkflowExecutionStatus.TERMINATED: JobState.TERMINATED,
        WorkflowExecutionStatus.TIMED_OUT: JobState.TIMED_OUT,
    }.get(described.status or WorkflowExecutionStatus.RUNNING, JobState.RUNNING)
    base = settings().ui_url.rstrip("/")
    return JobStatus(
        id=job_id,
        run_id=described.run_id,
        activity=described.workflow_type,
        task_queue=described.task_queue,
        state=state,
        attempt=attempt,
        last_error=last_error,
        scheduled_at=described.start_time,
        closed_at=described.close_time,
        ui_url=f"{base}/namespaces/{quote(client.namespace)}/workflows/{quote(job_id, safe='')}"
        f"/{described.run_id}/history",
    )


def _state(status: ActivityExecutionStatus, run_state: PendingActivityState | None) -> JobState:
    if status == ActivityExecutionStatus.RUNNING:
        return {
            PendingActivityState.STARTED: JobState.RUNNING,
            PendingActivityState.PAUSED: JobState.PAUSED,
            PendingActivityState.PAUSE_REQUESTED: JobState.PAUSED,
            PendingActivityState.CANCEL_REQUESTED: JobState.CANCEL_REQUESTED,
        }.get(run_state or PendingActivityState.SCHEDULED, JobState.SCHEDULED)
    return {
        ActivityExecutionStatus.COMPLETED: JobState.COMPLETED,
        ActivityExecutionStatus.FAILED: JobState.FAILED,
        ActivityExecutionStatus.CANCELED: JobState.CANCELED,
        ActivityExecutionStatus.TERMINATED: JobState.TERMINATED,
        ActivityExecutionStatus.TIMED_OUT: JobState.TIMED_OUT,
        ActivityExecutionStatus.PAUSED: JobState.PAUSED,
    }.get(status, JobState.SCHEDULED)


def _list_status(state: JobState) -> str:
    # Visibility knows only the execution status; the finer running states are all "Running".
    if state in (JobState.SCHEDULED, JobState.RUNNING, JobState.CANCEL_REQUESTED):
        return "Running"
    return {
        JobState.PAUSED: "Paused",
        JobState.COMPLETED: "Completed",
        JobState.FAILED: "Failed",
        JobState.CANCELED: "Canceled",
        JobState.TERMINATED: "Terminated",
        JobState.TIMED_OUT: "TimedOut",
    }[state]


def _error_text(err: BaseException) -> str:
    err = root_cause(err)
    kind = getattr(err, "type", None) or type(err).__name__
    message = getattr(err, "message", None) or str(err)
    return f"{kind}: {message}"


def _ui_url(client: Client, job_id: str, run_id: str | None) -> str:
    base = settings().ui_url.rstrip("/")
    url = f"{base}/namespaces/{quote(client.namespace)}/activities/{quote(job_id, safe='')}"
    return f"{url}/{run_id}/details" if run_id else url


def _quote(value: str) -> str:
    return value.replace("\\", "\\\\").replace("'", "\\'")


async def _is_activity(client: Client, job_id: str) -> bool:
    try:
        await client.get_activity_handle(job_id).describe()
    except RPCError as err:
        if not _no_such_activity(err):
            raise
        try:
            await client.get_workflow_handle(job_id).describe()
        except RPCError as missing:
            raise _not_found(job_id, missing) from None
        return False
    return True


async def _require_activity(client: Client, job_id: str, what: str) -> None:
    if not await _is_activity(client, job_id):
        raise ValueError(
            f"job {job_id!r} runs as a workflow (LANES_DISPATCH_MODE=workflow); {what} needs "
            "the standalone activity engine"
        )


def _no_such_activity(err: RPCError) -> bool:
    # UNIMPLEMENTED: a server without standalone activities, whose jobs are all workflows.
    return err.status in (RPCStatusCode.NOT_FOUND, RPCStatusCode.UNIMPLEMENTED)


def _not_found(job_id: str, err: RPCError) -> Exception:
    if err.status == RPCStatusCode.NOT_FOUND:
        return JobNotFound(f"no job {job_id!r} (or it is older than the namespace's retention)")
    return err
