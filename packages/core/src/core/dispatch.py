"""``dispatch``: hand one job to any domain, from any service.

A **job** is one registered activity run as a Temporal *Standalone Activity*
(``Client.start_activity``: no workflow around it) on the activity's queue, with the activity's
registered retry policy, timeouts, heartbeat, priority and fairness key, or per-call overrides. It
is durable (a dead worker or server loses nothing), retried by its policy, and visible on the
UI's *Standalone Activities* page and with ``lanes jobs`` / ``temporal activity``::

    from core.dispatch import dispatch

    job = await dispatch("sync_repository", {"url": "https://github.com/org/repo"})
    job = await dispatch(sync_repository, SyncRepositoryInput(url=...), id="sync-org-repo")
    result = await job.result()

Semantics a Celery user should know:

- ``id`` is the idempotency key. A second dispatch with the same id while the first runs, or
  after it completed successfully (within the namespace's retention), starts nothing; the
  returned :class:`Dispatched` has ``started=False`` and its ``result()`` is the first job's
  result. After a *failed*, cancelled, terminated or timed-out run the same id may run again,
  which is what a retry from the caller means; pass ``rerun_failed=False`` to forbid even that.
- ``start_delay`` is Celery's ``countdown`` (``eta`` is ``start_delay=eta - now``); the job is
  durable from the moment ``dispatch`` returns. ``priority`` (1 first … 5 last) and
  ``fairness_key`` (a tenant) order a backlog on the server.
- Everything a caller gives is checked here, before anything is started, and a mistake raises
  :class:`DispatchError` saying what was wrong: the input against the activity's input model (for
  an activity registered in this process), option names and values (retry policy names,
  timeouts, delays), a known activity sent to another domain's queue, an input over the payload
  limit (``LANES_PAYLOAD_LIMIT``). A name no worker of the queue serves fails on the worker
  within seconds, naming what it serves (see :mod:`core.worker`).
- ``result()`` raises :class:`JobFailedError` (``.cause`` is the activity's own error) when the
  job did not succeed. At most ``LANES_RESULT_WAITS`` results are awaited at once per process:
  each wait is a long poll, and the server limits those per namespace.
- A connection error while starting is retried for ``connect_timeout`` (a server restart is a
  delay); the id keeps the retry exactly-once.

Job engine: ``LANES_DISPATCH_MODE=workflow`` runs each job as a
:class:`~core.workflows.SingleActivityWorkflow` instead (full workflow history, the path
schedules take); a server without standalone activities switches this process to it once, with
one warning. Both paths share the validation above and the :class:`Dispatched` contract.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any, Literal

from prometheus_client import Counter
from temporalio.client import (
    ActivityFailureError,
    ActivityHandle,
    Client,
    WorkflowFailureError,
    WorkflowHandle,
)
from temporalio.common import (
    ActivityIDConflictPolicy,
    ActivityIDReusePolicy,
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDReusePolicy,
)
from temporalio.converter import PayloadConverter
from temporalio.exceptions import ActivityAlreadyStartedError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

import core.ping  # noqa: F401 - registers lanes.ping so it validates here like any activity
from core import activities, codec, telemetry
from core._jobs import (
    DispatchError,
    JobFailedError,
    JobPlan,
    job_options,
    plan_job,
    result_slot,
    root_cause,
)
from core.activities import ActivityOptions
from core.bulk import BulkDispatch, dispatch_many
from core.client import TemporalUnavailable, get_client
from core.settings import settings
from core.workflows.single_activity import SingleActivityInput, SingleActivityWorkflow

__all__ = [
    "BulkDispatch",
    "DispatchError",
    "Dispatched",
    "JobFailedError",
    "dispatch",
    "dispatch_and_wait",
    "dispatch_many",
    "dispatch_mode",
]

log = logging.getLogger("lanes.dispatch")

Mode = Literal["activity", "workflow"]

DEFAULT_CONNECT_TIMEOUT = timedelta(seconds=10)
"""How long ``dispatch`` retries a start the server could not be reached for."""

_fallback: Mode | None = None  # set once when the server turns out to lack standalone activities


def dispatch_mode() -> Mode:
    """The job engine this process uses now (see the module docs)."""
    return _fallback or settings().dispatch_mode


@dataclass
class Dispatched:
    """A dispatched job, and whether this call started it."""

    id: str
    """The job's id: its idempotency key."""
    run_id: str | None
    """The run that holds the job (the existing one for a duplicate)."""
    started: bool
    """False when a job with this ``id`` already existed and nothing new was started."""
    activity: str
    task_queue: str
    mode: Mode
    """``activity`` (a standalone activity) or ``workflow`` (a ``SingleActivityWorkflow``)."""
    handle: ActivityHandle[Any] | WorkflowHandle[Any, Any] = field(repr=False)
    output_type: Any = field(default=None, repr=False)

    @property
    def duplicate(self) -> bool:
        """True when this call found the job already dispatched."""
        return not self.started

    async def result(self) -> Any:
        """Wait for the job and return its result, typed when the activity is known here.

        Raises :class:`JobFailedError` when the job failed, timed out, was cancelled or
        terminated; its ``cause`` is the activity's own error.
        """
        try:
            async with result_slot():
                raw = await self.handle.result()
        except (ActivityFailureError, WorkflowFailureError) as err:
            raise JobFailedError(self.id, root_cause(err)) from err
        if self.output_type is None or raw is None:
            return raw
        return activities.type_adapter(self.output_type).validate_python(raw)


async def dispatch(
    activity: str | Callable[..., Any],
    input: Any = None,
    *,
    task_queue: str | None = None,
    id: str | None = None,
    start_delay: timedelta | float | None = None,
    priority: int | None = None,
    fairness_key: str | None = None,
    options: ActivityOptions | Mapping[str, Any] | None = None,
    rerun_failed: bool = True,
    search_attributes: Sequence[SearchAttributePair[Any]] | None = None,
    summary: str | None = None,
    connect_timeout: timedelta | float | None = DEFAULT_CONNECT_TIMEOUT,
    client: Client | None = None,
) -> Dispatched:
    """Start one job and return at once; ``await job.result()`` for its result.

    Args:
        activity: Registered activity name (``"sync_repository"``) or the function itself.
        input: The activity's single input (model, dataclass or JSON-like value). Left out
            (``None``), the activity gets its own default, on both job engines.
        task_queue: Queue to run on. Default: the activity's registered queue; required when this
            process does not know the activity.
        id: The job's id and idempotency key; see the module docs. Default: ``<activity>-<uuid>``.
        start_delay: Run no earlier than this from now (Celery's countdown); seconds or a
            ``timedelta``.
        priority: 1 (first) to 5 (last) in a backlog. Default: the activity's declaration, else
            the server's middle (3).
        fairness_key: Share the queue fairly between keys (a tenant id). Default: the activity's
            declaration, else none.
        options: Per-call overrides of the registered retry policy and timeouts.
        rerun_failed: Whether an id whose job failed may run again. Default: True.
        search_attributes: Typed search attributes to find the job by in the UI.
        summary: One line shown with the job in the UI.
        connect_timeout: How long to retry when the server cannot be reached (seconds or a
            ``timedelta``; ``None`` or 0: no retry). Default: 10 s.
        client: Client to use. Default: the process's cached client.
    """
    plan = plan_job(
        activity,
        input,
        task_queue=task_queue,
        options=options,
        start_delay=start_delay,
        priority=priority,
        fairness_key=fairness_key,
        payload_converter=_payload_converter(client),
    )
    job_id = id or f"{plan.name}-{uuid.uuid4()}"
    if not job_id.strip():
        raise DispatchError("a job id cannot be blank")
    attributes = TypedSearchAttributes(list(search_attributes)) if search_attributes else None
    deadline = time.monotonic() + _seconds(connect_timeout)
    delay = 0.1
    while True:
        try:
            job = await _start(plan, job_id, rerun_failed, attributes, summary, client)
        except (RPCError, TemporalUnavailable) as err:
            if not _unreachable(err) or time.monotonic() + delay > deadline:
                _count(plan.name, "error")
                raise
            log.warning("Temporal unreachable while dispatching %s; retrying: %s", job_id, err)
            await asyncio.sleep(delay)
            delay = min(delay * 2, 2.0)
            continue
        _count(plan.name, "started" if job.started else "duplicate")
        return job


def _payload_converter(client: Client | None) -> PayloadConverter:
    """What the start call's client encodes payloads with. The process's client has Lanes'
    (encryption keys change its codec, which the SDK applies afterwards, not this)."""
    global _lanes_converter
    if client is not None:
        return client.data_converter.payload_converter
    if _lanes_converter is None:
        _lanes_converter = codec.data_converter().payload_converter
    return _lanes_converter


_lanes_converter: PayloadConverter | None = None
_COUNTERS: dict[tuple[str, str], Counter] = {}


def _count(activity: str, outcome: str) -> None:
    """``lanes_dispatches_total`` +1; the labelled child is looked up once per label pair."""
    counter = _COUNTERS.get((activity, outcome))
    if counter is None:
        counter = _COUNTERS[(activity, outcome)] = telemetry.DISPATCHES.labels(activity, outcome)
    counter.inc()


async def dispatch_and_wait(
    activity: str | Callable[..., Any], input: Any = None, **kwargs: Any
) -> Any:
    """``dispatch`` and wait for the result (Celery's ``apply_async().get()``)."""
    job = await dispatch(activity, input, **kwargs)
    return await job.result()


async def _start(
    plan: JobPlan,
    job_id: str,
    rerun_failed: bool,
    attributes: TypedSearchAttributes | None,
    summary: str | None,
    client: Client | None,
) -> Dispatched:
    global _fallback
    client = client or await get_client()
    output_type = plan.config.output_type if plan.config else None
    if dispatch_mode() == "activity":
        try:
            return await _start_activity(plan, job_id, rerun_failed, attributes, summary, client)
        except RPCError as err:
            if not _no_standalone_activities(err):
                raise
            _fallback = "workflow"
            log.warning(
                "this Temporal server does not run standalone activities (%s); dispatch runs "
                "jobs as SingleActivityWorkflow from now on",
                err.message,
            )
    job = SingleActivityInput(
        activity=plan.name,
        input=plan.payload,
        options=job_options(plan.config, plan.overrides, plan.task_queue),
    )
    reuse = (
        WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        if rerun_failed
        else WorkflowIDReusePolicy.REJECT_DUPLICATE
    )
    try:
        handle = await client.start_workflow(
            SingleActivityWorkflow.run,
            job,
            id=job_id,
            task_queue=plan.task_queue,
            id_reuse_policy=reuse,
            start_delay=plan.start_delay,
            search_attributes=attributes,
            static_summary=summary,
            priority=plan.priority,
        )
    except WorkflowAlreadyStartedError as err:
        existing = client.get_workflow_handle(job_id, run_id=err.run_id)
        return Dispatched(
            job_id, err.run_id, False, plan.name, plan.task_queue, "workflow", existing, output_type
        )
    return Dispatched(
        job_id,
        handle.result_run_id,
        True,
        plan.name,
        plan.task_queue,
        "workflow",
        handle,
        output_type,
    )


async def _start_activity(
    plan: JobPlan,
    job_id: str,
    rerun_failed: bool,
    attributes: TypedSearchAttributes | None,
    summary: str | None,
    client: Client,
) -> Dispatched:
    output_type = plan.config.output_type if plan.config else None
    reuse = (
        ActivityIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY
        if rerun_failed
        else ActivityIDReusePolicy.REJECT_DUPLICATE
    )
    try:
        handle = await client.start_activity(
            plan.name,
            args=plan.args,
            id=job_id,
            task_queue=plan.task_queue,
            start_to_close_timeout=plan.start_to_close_timeout,
            schedule_to_close_timeout=plan.schedule_to_close_timeout,
            heartbeat_timeout=plan.heartbeat_timeout,
            retry_policy=plan.retry_policy,
            id_reuse_policy=reuse,
            id_conflict_policy=ActivityIDConflictPolicy.FAIL,
            search_attributes=attributes,
            summary=summary,
            priority=plan.priority,
            start_delay=plan.start_delay,
        )
    except ActivityAlreadyStartedError as err:
        existing = client.get_activity_handle(job_id, run_id=err.run_id)
        return Dispatched(
            job_id, err.run_id, False, plan.name, plan.task_queue, "activity", existing, output_type
        )
    return Dispatched(
        job_id, handle.run_id, True, plan.name, plan.task_queue, "activity", handle, output_type
    )


def _no_standalone_activities(err: RPCError) -> bool:
    return err.status == RPCStatusCode.UNIMPLEMENTED or (
        "standalone activit" in err.message.lower() and "disabled" in err.message.lower()
    )


def _unreachable(err: Exception) -> bool:
    if isinstance(err, TemporalUnavailable):
        return True
    return isinstance(err, RPCError) and err.status == RPCStatusCode.UNAVAILABLE


def _seconds(value: timedelta | float | None) -> float:
    if value is None:
        return 0.0
    seconds = value.total_seconds() if isinstance(value, timedelta) else float(value)
    if not seconds >= 0:  # also refuses nan
        raise DispatchError(f"connect_timeout must be zero or more seconds, got {value}")
    return seconds
