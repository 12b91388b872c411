"""``dispatch``: hand one job to any domain, from any service.

A job is one registered activity run by :class:`~core.workflows.SingleActivityWorkflow` on the
activity's queue, so it is durable (a dead worker or server loses nothing), retried by the
activity's registered policy, and visible in the Temporal UI with its whole history::

    from core.dispatch import dispatch

    job = await dispatch("sync_repository", {"url": "https://github.com/org/repo"})
    job = await dispatch(sync_repository, SyncRepositoryInput(url=...), id="sync-org-repo")
    result = await job.result()

Semantics a Celery user should know:

- ``id`` is the idempotency key. A second dispatch with the same id while the first runs,
  or after it completed successfully (within the namespace's retention), starts nothing; the
  returned :class:`Dispatched` has ``started=False`` and its ``result()`` is the first job's
  result. After a *failed*, cancelled or terminated run the same id may run again (the server's
  ``ALLOW_DUPLICATE_FAILED_ONLY``), which is what a retry from the caller means; pass
  ``id_reuse_policy=REJECT_DUPLICATE`` to forbid even that.
- ``start_delay`` is Celery's ``countdown`` (``eta`` is ``start_delay=eta - now``); the job is
  durable from the moment ``dispatch`` returns.
- Bad input fails here, before anything is started: an activity registered in this process has
  its input validated against its input model, and the queue is known; an activity this process
  does not know needs ``task_queue=``.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pydantic
from temporalio.client import Client, WorkflowHandle
from temporalio.common import SearchAttributePair, TypedSearchAttributes, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

import core.ping  # noqa: F401 - registers lanes.ping so it validates here like any activity
from core import activities, telemetry
from core._jobs import DispatchError, encode_input, job_options, resolve_activity
from core.activities import ActivityOptions
from core.bulk import BulkDispatch, dispatch_many
from core.client import get_client
from core.workflows.single_activity import SingleActivityInput, SingleActivityWorkflow

__all__ = [
    "BulkDispatch",
    "DispatchError",
    "Dispatched",
    "dispatch",
    "dispatch_and_wait",
    "dispatch_many",
]


@dataclass
class Dispatched:
    """A dispatched job: its workflow, and whether this call started it."""

    id: str
    """The job's id: its idempotency key."""
    run_id: str | None
    """Run that holds the job (the existing one for a duplicate)."""
    started: bool
    """False when a job with this ``id`` already existed and nothing new was started."""
    activity: str
    task_queue: str
    handle: WorkflowHandle[Any, Any] = field(repr=False)
    output_type: Any = field(default=None, repr=False)

    @property
    def duplicate(self) -> bool:
        """True when this call found the job already dispatched."""
        return not self.started

    async def result(self) -> Any:
        """Wait for the job and return its result, typed when the activity is known here.

        Raises ``temporalio.client.WorkflowFailureError`` when the job failed; its ``cause``
        carries the activity's error.
        """
        raw = await self.handle.result()
        if self.output_type is None or raw is None:
            return raw
        return activities.type_adapter(self.output_type).validate_python(raw)


async def dispatch(
    activity: str | Callable[..., Any],
    input: Any = None,
    *,
    task_queue: str | None = None,
    id: str | None = None,
    start_delay: timedelta | None = None,
    options: ActivityOptions | Mapping[str, Any] | None = None,
    id_reuse_policy: WorkflowIDReusePolicy = WorkflowIDReusePolicy.ALLOW_DUPLICATE_FAILED_ONLY,
    execution_timeout: timedelta | None = None,
    search_attributes: Sequence[SearchAttributePair[Any]] | None = None,
    memo: Mapping[str, Any] | None = None,
    client: Client | None = None,
) -> Dispatched:
    """Start one job and return at once; ``await job.result()`` for its result.

    Args:
        activity: Registered activity name (``"sync_repository"``) or the function itself.
        input: The activity's single input (model, dataclass or JSON-like value).
        task_queue: Queue to run on. Default: the activity's registered queue; required when this
            process does not know the activity.
        id: The job's id and idempotency key; see the module docs. Default: ``<activity>-<uuid>``.
        start_delay: Run no earlier than this from now (Celery's countdown).
        options: Per-call overrides of the registered retry policy and timeouts.
        id_reuse_policy: What an id that already finished may do. Default: run again only after
            a failure.
        execution_timeout: Upper bound on the whole job, retries included. Default: none.
        search_attributes: Typed search attributes to find the job by in the UI.
        memo: Free-form notes shown with the job.
        client: Client to use. Default: the process's cached client.
    """
    config = resolve_activity(activity)
    name = config.name if config else str(activity)
    queue = task_queue or (config.queue if config else None)
    if not queue:
        why = (
            f"{name!r} is served on every queue"
            if config
            else f"activity {name!r} is not registered in this process"
        )
        raise DispatchError(f"{why}; pass task_queue= to say which worker runs it")
    payload = encode_input(config, input)
    try:
        overrides = ActivityOptions.model_validate(options) if options is not None else None
    except pydantic.ValidationError as err:
        raise DispatchError(f"invalid options for {name!r}: {err}") from None
    job = SingleActivityInput(
        activity=name, input=payload, options=job_options(config, overrides, queue)
    )
    job_id = id or f"{name}-{uuid.uuid4()}"
    client = client or await get_client()
    output_type = config.output_type if config else None
    try:
        handle = await client.start_workflow(
            SingleActivityWorkflow.run,
            job,
            id=job_id,
            task_queue=queue,
            id_reuse_policy=id_reuse_policy,
            start_delay=start_delay,
            execution_timeout=execution_timeout,
            search_attributes=TypedSearchAttributes(list(search_attributes))
            if search_attributes
            else None,
            memo=dict(memo) if memo else None,
            # No static_summary: it is one more payload to encode and store per job (+4-17 %
            # server CPU per start in the bench); the default id already starts with the name.
        )
    except WorkflowAlreadyStartedError as err:
        telemetry.DISPATCHES.labels(name, "duplicate").inc()
        existing = client.get_workflow_handle(job_id, run_id=err.run_id)
        return Dispatched(job_id, err.run_id, False, name, queue, existing, output_type)
    except Exception:
        telemetry.DISPATCHES.labels(name, "error").inc()
        raise
    telemetry.DISPATCHES.labels(name, "started").inc()
    return Dispatched(job_id, handle.result_run_id, True, name, queue, handle, output_type)


async def dispatch_and_wait(
    activity: str | Callable[..., Any], input: Any = None, **kwargs: Any
) -> Any:
    """``dispatch`` and wait for the result (Celery's ``apply_async().get()``)."""
    job = await dispatch(activity, input, **kwargs)
    return await job.result()
