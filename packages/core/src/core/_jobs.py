"""What ``dispatch``, ``dispatch_many`` and the job operations share.

Resolving the activity, encoding and validating everything a caller gives (input, options,
queue, delay, priority) before anything is started, the error types a caller sees, and the
process-wide bound on result waits.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import math
import weakref
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic
import pydantic_core
from temporalio.common import Priority, RawValue, RetryPolicy
from temporalio.converter import (
    ActivitySerializationContext,
    PayloadConverter,
    WithSerializationContext,
)

from core import activities
from core.activities import ActivityConfig, ActivityOptions
from core.retry import STANDARD_RETRY
from core.settings import settings
from core.task_queues import TaskQueue

__all__ = [
    "MAX_DURATION",
    "DispatchError",
    "JobFailedError",
    "JobPlan",
    "encode_input",
    "job_options",
    "plan_job",
    "resolve_activity",
    "result_slot",
]

log = logging.getLogger("lanes.dispatch")

MAX_DURATION = timedelta(days=3650)
"""Longest delay or timeout a caller may ask for; anything longer is a mistake (seconds given as
milliseconds, an overflowed computation)."""


class DispatchError(ValueError):
    """The dispatch call itself is wrong (unknown activity, bad input, no queue); nothing ran."""


class JobFailedError(Exception):
    """The job ran and did not succeed: failed, timed out, was cancelled or terminated.

    ``cause`` is the activity's own error (an ``ApplicationError`` with its ``type``, a
    ``TimeoutError``, a ``CancelledError``...), the same on both job paths.
    """

    def __init__(self, job_id: str, cause: BaseException) -> None:
        super().__init__(f"job {job_id} failed: {_describe(cause)}")
        self.job_id = job_id
        self.cause = cause
        """The activity's error."""


def root_cause(err: BaseException) -> BaseException:
    """The innermost error of a workflow/activity failure chain: what the activity raised."""
    while err.__cause__ is not None and type(err).__name__ in (
        "WorkflowFailureError",
        "ActivityFailureError",
        "ActivityError",
        "ChildWorkflowError",
    ):
        err = err.__cause__
    return err


def _describe(err: BaseException) -> str:
    kind = getattr(err, "type", None) or type(err).__name__
    message = getattr(err, "message", None) or str(err)
    return f"{kind}: {message}"


def resolve_activity(activity: str | Callable[..., Any]) -> ActivityConfig | None:
    config = activities.config_of(activity)
    if config is None and not isinstance(activity, str):
        raise DispatchError(
            f"{getattr(activity, '__qualname__', activity)!r} is not a registered activity; "
            "declare it with @activities.defn or dispatch it by name with task_queue="
        )
    return config


def encode_input(config: ActivityConfig | None, input: Any) -> Any:
    """The input as plain JSON, validated first when the activity is known here."""
    if config is None:
        try:
            return pydantic_core.to_jsonable_python(input)
        except pydantic_core.PydanticSerializationError as err:
            raise DispatchError(f"input is not JSON-serialisable: {err}") from None
    try:
        value = config.validate_input(input)
    except ValueError as err:
        raise DispatchError(str(err)) from None
    if value is None:
        return None
    return activities.type_adapter(config.input_type).dump_python(value, mode="json")


@dataclass(frozen=True)
class JobPlan:
    """Everything a job runs with, decided and validated at the call site."""

    name: str
    """Activity type name."""
    task_queue: str
    payload: Any
    """The input as plain JSON (``None`` for an activity that takes none)."""
    args: list[Any]
    """The activity's arguments for ``start_activity``: none without an input (the activity's
    default then applies, as on the workflow path), else the input, serialised already when
    :func:`plan_job` was given the client's payload converter."""
    overrides: ActivityOptions | None
    """The per-call overrides as given (the workflow path carries them in the job)."""
    retry_policy: RetryPolicy
    start_to_close_timeout: timedelta | None
    schedule_to_close_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    priority: Priority
    start_delay: timedelta | None
    config: ActivityConfig | None
    """The registered config when this process knows the activity."""


def plan_job(
    activity: str | Callable[..., Any],
    input: Any,
    *,
    task_queue: str | None,
    options: ActivityOptions | Mapping[str, Any] | None,
    start_delay: timedelta | float | None,
    priority: int | None,
    fairness_key: str | None,
    payload_converter: PayloadConverter | None = None,
) -> JobPlan:
    """Validate a dispatch call and decide what the job runs; raises :class:`DispatchError`.

    With ``payload_converter`` (the client's) the input is serialised here, once: the size check
    measures the payload that is sent (:attr:`JobPlan.args`).
    """
    config = resolve_activity(activity)
    name = config.name if config else str(activity)
    if not name:
        raise DispatchError("an activity name is required")
    try:
        overrides = ActivityOptions.model_validate(options) if options is not None else None
    except pydantic.ValidationError as err:
        raise DispatchError(f"invalid options for {name!r}: {_short(err)}") from None
    queue = _queue(config, name, task_queue or (overrides.task_queue if overrides else None))
    payload = encode_input(config, input)
    takes_input = (config.input_type is not None) if config else input is not None
    limit = settings().payload_limit
    args = _args(name, payload, takes_input, limit, payload_converter)
    base = config or _UNKNOWN_DEFAULTS
    if overrides is None:
        execution = _registered_execution(name, base)
    else:
        execution = _execution(name, base, overrides)
    delay = _delay(name, start_delay)
    if priority is None and fairness_key is None:
        job_priority = execution.priority
    else:
        job_priority = _priority(name, config, priority, fairness_key)
    return JobPlan(
        name=name,
        task_queue=queue,
        payload=payload,
        args=args,
        overrides=overrides,
        retry_policy=execution.retry_policy,
        start_to_close_timeout=execution.start_to_close_timeout,
        schedule_to_close_timeout=execution.schedule_to_close_timeout,
        heartbeat_timeout=execution.heartbeat_timeout,
        priority=job_priority,
        start_delay=delay,
        config=config,
    )


@dataclass(frozen=True, slots=True)
class _Execution:
    """How a job of one activity runs with given overrides, validated."""

    retry_policy: RetryPolicy
    start_to_close_timeout: timedelta | None
    schedule_to_close_timeout: timedelta | None
    heartbeat_timeout: timedelta | None
    priority: Priority
    """The declared priority and fairness key (a call's own are applied on top)."""
    config: ActivityConfig
    """What it was resolved from (an entry of :data:`_REGISTERED` is valid for this one only)."""


_REGISTERED: dict[str, _Execution] = {}
"""The registered config's execution options per activity name, resolved once: a dispatch
without ``options=`` (the common case) then costs a dict lookup instead of building and
validating the same models every call."""


def _registered_execution(name: str, base: ActivityConfig) -> _Execution:
    execution = _REGISTERED.get(base.name)
    if execution is None or execution.config is not base:  # first use, or re-registered
        execution = _REGISTERED[base.name] = _execution(name, base, None)
    return execution


def _execution(name: str, base: ActivityConfig, overrides: ActivityOptions | None) -> _Execution:
    try:
        resolved = base.execution_options(overrides)
    except KeyError as err:  # an unknown retry policy name
        raise DispatchError(f"invalid options for {name!r}: {err.args[0]}") from None
    except (TypeError, ValueError) as err:
        raise DispatchError(f"invalid options for {name!r}: {err}") from None
    for label in ("start_to_close_timeout", "schedule_to_close_timeout", "heartbeat_timeout"):
        _check_duration(name, label, resolved[label], allow_zero=False)
    heartbeat, limit = resolved["heartbeat_timeout"], resolved["start_to_close_timeout"]
    if heartbeat is not None and limit is not None and heartbeat >= limit:
        raise DispatchError(
            f"invalid options for {name!r}: heartbeat_timeout {heartbeat} must be shorter than "
            f"start_to_close_timeout {limit}"
        )
    policy: RetryPolicy = resolved["retry_policy"]
    for label in ("initial_interval", "maximum_interval"):
        _check_duration(name, f"retry_policy.{label}", getattr(policy, label), allow_zero=False)
    return _Execution(
        retry_policy=policy,
        start_to_close_timeout=limit,
        schedule_to_close_timeout=resolved["schedule_to_close_timeout"],
        heartbeat_timeout=heartbeat,
        priority=_priority(name, base, None, None),
        config=base,
    )


def _default_fn(input: Any = None) -> None: ...


# What a job of an activity this process does not know runs with: the documented defaults.
_UNKNOWN_DEFAULTS = ActivityConfig(name="", fn=_default_fn, queue=None, retry_policy=STANDARD_RETRY)


_DOMAIN_QUEUES = frozenset(q.value for q in TaskQueue)


def _queue(config: ActivityConfig | None, name: str, task_queue: str | None) -> str:
    if task_queue is not None:
        task_queue = task_queue.strip()
        if not task_queue:
            raise DispatchError(f"empty task queue for {name!r}")
        if (
            config is not None
            and config.queue is not None
            and task_queue != config.queue
            and task_queue in _DOMAIN_QUEUES
        ):
            # A domain queue's workers serve that domain's activities only.
            raise DispatchError(
                f"activity {name!r} runs on task queue {config.queue!r}; the {task_queue!r} "
                f"workers do not serve it (leave the queue out to use {config.queue!r})"
            )
        return task_queue
    if config is not None and config.queue is not None:
        return config.queue
    if config:
        why = f"{name!r} is served on every queue"
    else:
        why = f"activity {name!r} is not registered in this process"
        close = difflib.get_close_matches(name, activities.names(), n=1)
        if close:  # a typo, most likely: say so before anything starts
            why += f" (did you mean {close[0]!r}?)"
    raise DispatchError(f"{why}; pass task_queue= to say which worker runs it")


def _check_duration(name: str, label: str, value: timedelta | None, *, allow_zero: bool) -> None:
    if value is None:
        return
    if value < timedelta(0) or (value == timedelta(0) and not allow_zero):
        raise DispatchError(f"invalid options for {name!r}: {label} must be positive, got {value}")
    if value > MAX_DURATION:
        raise DispatchError(
            f"invalid options for {name!r}: {label} {value} is longer than the "
            f"{MAX_DURATION.days} days Lanes accepts"
        )


def _delay(name: str, value: timedelta | float | None) -> timedelta | None:
    if value is None:
        return None
    if not isinstance(value, timedelta):
        seconds = float(value)
        if not math.isfinite(seconds):
            raise DispatchError(f"start_delay for {name!r} must be a finite number, got {value}")
        if seconds < 0 or seconds > MAX_DURATION.total_seconds():
            raise DispatchError(
                f"start_delay for {name!r} must be between 0 and {MAX_DURATION.days} days, "
                f"got {seconds} s"
            )
        value = timedelta(seconds=seconds)
    if value < timedelta(0) or value > MAX_DURATION:
        raise DispatchError(
            f"start_delay for {name!r} must be between 0 and {MAX_DURATION.days} days, got {value}"
        )
    return value or None


def _priority(
    name: str, config: ActivityConfig | None, priority: int | None, fairness_key: str | None
) -> Priority:
    level = priority if priority is not None else (config.priority if config else None)
    key = fairness_key if fairness_key is not None else (config.fairness_key if config else None)
    if level is not None and (isinstance(level, bool) or not 1 <= level <= 5):
        raise DispatchError(f"priority for {name!r} must be 1 (first) to 5 (last), got {level!r}")
    if key is not None and not 0 < len(key.encode()) <= 64:
        raise DispatchError(f"fairness_key for {name!r} must be 1 to 64 bytes, got {key!r}")
    if level is None and key is None:
        return Priority.default
    return Priority(priority_key=level, fairness_key=key)


def _refuse_oversize(name: str, size: int, limit: int) -> None:
    if size > limit:
        raise DispatchError(
            f"input for {name!r} is {size:,} bytes, over the server's payload limit of "
            f"{limit:,} bytes; store the data elsewhere (a database row, object storage) and "
            "pass its key"
        )


def _args(
    name: str,
    payload: Any,
    takes_input: bool,
    limit: int,
    converter: PayloadConverter | None,
) -> list[Any]:
    """The activity's arguments, checked against the payload limit.

    With a converter whose output does not depend on the job (Lanes' own, the SDK's defaults)
    the input is serialised once, here: measured, and handed to the SDK as a ``RawValue``, which
    it sends as is (the client's codec still encrypts it). Otherwise it stays a plain value and
    is measured as JSON.
    """
    if not takes_input or payload is None:
        return []  # no input: the activity's default, as on the workflow path
    if limit <= 0:
        return [payload]
    if converter is None or not _context_free(converter):
        _refuse_oversize(name, len(pydantic_core.to_json(payload)), limit)
        return [payload]
    encoded = converter.to_payloads([payload])[0]
    _refuse_oversize(name, len(encoded.data), limit)
    return [RawValue(encoded)]


_CONTEXT_FREE: weakref.WeakKeyDictionary[PayloadConverter, bool] = weakref.WeakKeyDictionary()


def _context_free(converter: PayloadConverter) -> bool:
    """Whether ``converter`` encodes a value the same whatever job it is for."""
    known = _CONTEXT_FREE.get(converter)
    if known is None:
        known = not isinstance(converter, WithSerializationContext) or (
            converter.with_context(_ANY_CONTEXT) is converter
        )
        _CONTEXT_FREE[converter] = known
    return known


_ANY_CONTEXT = ActivitySerializationContext(
    namespace="",
    activity_id="",
    activity_type="",
    activity_task_queue="",
    is_local=False,
    workflow_id=None,
    workflow_type=None,
)


def _short(err: pydantic.ValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(p) for p in e["loc"]) or "options"
        parts.append(f"{loc}: {e['msg']}")
    return "; ".join(parts)


_SLOTS: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Semaphore] = (
    weakref.WeakKeyDictionary()
)


@asynccontextmanager
async def result_slot() -> AsyncIterator[None]:
    """Hold one of the process's result-wait slots while long-polling for a result."""
    loop = asyncio.get_running_loop()
    slots = _SLOTS.get(loop)
    if slots is None:
        slots = _SLOTS[loop] = asyncio.Semaphore(settings().result_waits)
    async with slots:
        yield


def job_options(
    config: ActivityConfig | None, overrides: ActivityOptions | None, task_queue: str
) -> ActivityOptions | None:
    """How a job runs, decided here and carried in the job: the registered config + overrides,
    every field set (:meth:`ActivityConfig.resolve`). For an activity this process does not
    know, the overrides as given; the workflow fills the documented defaults."""
    if config is None:
        return overrides
    try:
        return config.resolve(overrides, task_queue=task_queue)
    except ValueError as err:
        raise DispatchError(str(err)) from None
