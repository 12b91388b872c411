"""The activity registry: one decorator declares an activity and how it runs.

An activity is a plain function in a domain's ``activities/`` folder::

    @activities.defn(queue=TaskQueue.SYNC, retry="github_sync", start_to_close=timedelta(hours=1),
                     heartbeat=timedelta(seconds=30))
    async def sync_repository(input: SyncRepositoryInput) -> SyncRepositoryResult: ...

The decorator makes it a Temporal activity and records its execution config (queue, retry policy,
timeouts) in one process-wide registry, keyed by name. Declaring an activity therefore needs no
edit anywhere else.

The registry is read where a job is *created* — ``dispatch``, ``dispatch_many``, a schedule's
sync, :mod:`core.durable` — and the decisions (queue, retry policy, timeouts, local or not) travel
in the job as a fully resolved :class:`ActivityOptions` (:meth:`ActivityConfig.resolve`). The
wrapper workflows read only that (:func:`job_options`), never the registry of the worker that
happens to run or replay them, so two versions of a domain on one queue run the same job the same
way. Which activities a worker serves is the worker's own state (:mod:`core._served`).

Config is validated when it is declared (one input argument at most, positive timeouts, a heartbeat
shorter than the run) and is immutable afterwards; per-call overrides are merged onto a copy.

This module is workflow-safe: workflow files import it through
``workflow.unsafe.imports_passed_through()`` so the sandbox sees the registry the worker filled.
"""

from __future__ import annotations

import asyncio
import dataclasses
import importlib
import inspect
import sys
import typing
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, TypeVar, overload

import pydantic
from temporalio import activity as temporal_activity
from temporalio.common import RetryPolicy

from core.ratelimit import RateLimit
from core.retry import STANDARD_RETRY, retry_policy
from core.task_queues import TaskQueue, queue_of_package

__all__ = [
    "DEFAULT_START_TO_CLOSE",
    "ActivityConfig",
    "ActivityOptions",
    "RetryPolicyInput",
    "config_of",
    "defn",
    "get",
    "job_options",
    "names",
    "preload",
    "registered",
    "type_adapter",
]

DEFAULT_START_TO_CLOSE = timedelta(minutes=5)
"""Start-to-close timeout of an activity that declares no timeout of its own."""

F = TypeVar("F", bound=Callable[..., Any])


@dataclass(frozen=True)
class ActivityConfig:
    """How one registered activity runs. Built by :func:`defn`; never changed afterwards."""

    name: str
    """Activity type name on the server (defaults to the function name)."""
    fn: Callable[..., Any]
    """The activity function itself."""
    queue: str | None
    """Task queue it runs on; ``None`` for built-ins served by every worker (``lanes.ping``)."""
    retry_policy: RetryPolicy
    """Retry policy. Default: :data:`core.retry.STANDARD_RETRY`."""
    start_to_close_timeout: timedelta | None = DEFAULT_START_TO_CLOSE
    """Longest single attempt. Default: 5 minutes."""
    schedule_to_close_timeout: timedelta | None = None
    """Longest time over all attempts, retries included. Default: unbounded (retry policy rules)."""
    heartbeat_timeout: timedelta | None = None
    """Longest silence between heartbeats before the attempt is failed. Default: none."""
    input_type: Any = None
    """Type of the single input argument, or ``None`` when the function takes none."""
    input_required: bool = False
    """Whether the input argument has no default."""
    output_type: Any = None
    """Declared return type."""
    local: bool = False
    """Run as a local activity by default (the fast path, see :func:`defn`). Default: False."""
    module: str = ""
    """Module that declared it; the worker bootstrap uses it to find a domain's activities."""
    priority: int | None = None
    """Priority of its jobs, 1 (first) to 5 (last); a dispatch may override it. Default: none
    (the server's middle, 3)."""
    fairness_key: str | None = None
    """Fairness key of its jobs (a tenant id, say); a dispatch may override it. Default: none."""
    rate_limit: RateLimit | None = None
    """The most jobs its queue (a sub-queue of its domain) starts in any window;
    ``LANES_RATE_LIMITS`` overrides it. Default: none."""

    def validate_input(self, value: Any) -> Any:
        """Validate ``value`` against the input type; raises ``ValueError`` saying what is wrong."""
        if self.input_type is None:
            if value is not None:
                raise ValueError(f"activity {self.name!r} takes no input, got {value!r}")
            return None
        if value is None:
            if self.input_required:
                raise ValueError(
                    f"activity {self.name!r} needs an input of type {_type_name(self.input_type)}"
                )
            return None
        try:
            return type_adapter(self.input_type).validate_python(value)
        except pydantic.ValidationError as err:
            raise ValueError(
                f"invalid input for activity {self.name!r} "
                f"(expected {_type_name(self.input_type)}): {_short_errors(err)}"
            ) from None

    def runs_local(self, overrides: ActivityOptions | None = None) -> bool:
        """The one rule for the fast path: the call's ``local`` if given, else the declaration's.

        Decided where a job is created (``dispatch``, ``dispatch_many``, a schedule's sync,
        :func:`core.durable.run_activity`) and carried in the job, so no worker decides it later.
        """
        if overrides is not None and overrides.local is not None:
            return overrides.local
        return self.local

    def resolve(
        self, overrides: ActivityOptions | None = None, *, task_queue: str | None = None
    ) -> ActivityOptions:
        """Everything a job of this activity runs with, registered config + ``overrides``.

        Every field is set (the queue when known), so whoever runs the job needs no registry:
        a worker of another version reads the same decisions from the job itself.
        """
        o = overrides or ActivityOptions()
        policy = self.retry_policy if o.retry_policy is None else o.retry_policy.to_policy()
        if o.maximum_attempts is not None:
            # Copy: the registered policy is shared by every run in this process.
            policy = dataclasses.replace(policy, maximum_attempts=o.maximum_attempts)
        start_to_close = o.start_to_close_timeout or self.start_to_close_timeout
        schedule_to_close = o.schedule_to_close_timeout or self.schedule_to_close_timeout
        heartbeat = o.heartbeat_timeout or self.heartbeat_timeout
        local = self.runs_local(o)
        if local and heartbeat is not None:
            raise ValueError(
                f"activity {self.name!r} heartbeats; it cannot run as a local activity"
            )
        return ActivityOptions(
            task_queue=o.task_queue or task_queue,
            retry_policy=RetryPolicyInput.of(policy),
            start_to_close_timeout=start_to_close,
            schedule_to_close_timeout=schedule_to_close,
            heartbeat_timeout=heartbeat,
            local=local,
        )

    def execution_options(
        self, overrides: ActivityOptions | None = None, *, task_queue: str | None = None
    ) -> dict[str, Any]:
        """Keyword arguments for ``workflow.execute_activity``: registered config + overrides."""
        return job_options(self.resolve(overrides, task_queue=task_queue), local=False)


class RetryPolicyInput(pydantic.BaseModel):
    """A retry policy as JSON: a named policy to start from and the fields to change."""

    model_config = pydantic.ConfigDict(extra="forbid")

    name: str | None = None
    """Named policy to start from (``"standard"``, ``"llm"``...). Default: the activity's own."""
    initial_interval: timedelta | None = None
    backoff_coefficient: float | None = pydantic.Field(default=None, ge=1.0)
    maximum_interval: timedelta | None = None
    maximum_attempts: int | None = pydantic.Field(default=None, ge=0)
    non_retryable_error_types: list[str] | None = None

    @pydantic.field_validator("name")
    @classmethod
    def _known_name(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                retry_policy(value)
            except KeyError as err:
                raise ValueError(str(err.args[0])) from None
        return value

    @pydantic.field_validator("initial_interval", "maximum_interval")
    @classmethod
    def _positive_interval(cls, value: timedelta | None) -> timedelta | None:
        return _positive(value)

    @classmethod
    def of(cls, policy: RetryPolicy) -> RetryPolicyInput:
        """Every field of ``policy`` spelled out, so it means the same to any worker version."""
        return cls(
            initial_interval=policy.initial_interval,
            backoff_coefficient=policy.backoff_coefficient,
            # Unset means 100 x the initial interval on the server; say so, or the standard
            # policy's cap would fill the gap.
            maximum_interval=policy.maximum_interval or policy.initial_interval * 100,
            maximum_attempts=policy.maximum_attempts,
            # None, not []: the base (standard) policy has none either.
            non_retryable_error_types=list(policy.non_retryable_error_types or ()) or None,
        )

    def to_policy(self, base: RetryPolicy = STANDARD_RETRY) -> RetryPolicy:
        """The policy this describes, on top of ``name`` (or ``base``)."""
        start = retry_policy(self.name) if self.name else base
        changes = self.model_dump(exclude={"name"}, exclude_none=True)
        return dataclasses.replace(start, **changes)


class ActivityOptions(pydantic.BaseModel):
    """Per-call overrides of an activity's registered config. Unset fields keep the registered
    value. Durations accept seconds (``30``) or ISO 8601 (``"PT5M"``)."""

    model_config = pydantic.ConfigDict(extra="forbid", frozen=True)

    task_queue: str | None = None
    """Run the activity on this queue instead. Default: the workflow's queue when it serves the
    activity, else the registered queue."""
    retry_policy: RetryPolicyInput | None = None
    maximum_attempts: int | None = pydantic.Field(default=None, ge=0)
    """Shortcut for changing only the attempt count (0 = unlimited)."""
    start_to_close_timeout: timedelta | None = None
    schedule_to_close_timeout: timedelta | None = None
    heartbeat_timeout: timedelta | None = None
    local: bool | None = None
    """Run as a local activity (fast path) or not. Default: the activity's declaration."""

    @pydantic.field_validator(
        "start_to_close_timeout", "schedule_to_close_timeout", "heartbeat_timeout"
    )
    @classmethod
    def _positive_timeout(cls, value: timedelta | None) -> timedelta | None:
        return _positive(value)

    @pydantic.field_validator("retry_policy", mode="before")
    @classmethod
    def _policy_by_name(cls, value: Any) -> Any:
        # `"retry_policy": "llm"` is the common case from the shell; accept the bare name.
        return {"name": value} if isinstance(value, str) else value


_REGISTRY: dict[str, ActivityConfig] = {}


@overload
def defn(fn: F, /) -> F: ...


@overload
def defn(
    *,
    name: str | None = None,
    queue: TaskQueue | str | None = None,
    retry: RetryPolicy | str = "standard",
    start_to_close: timedelta | None = None,
    schedule_to_close: timedelta | None = None,
    heartbeat: timedelta | None = None,
    local: bool = False,
    priority: int | None = None,
    fairness_key: str | None = None,
    rate_limit: str | int | None = None,
) -> Callable[[F], F]: ...


def defn(
    fn: F | None = None,
    /,
    *,
    name: str | None = None,
    queue: TaskQueue | str | None = None,
    retry: RetryPolicy | str = "standard",
    start_to_close: timedelta | None = None,
    schedule_to_close: timedelta | None = None,
    heartbeat: timedelta | None = None,
    local: bool = False,
    priority: int | None = None,
    fairness_key: str | None = None,
    rate_limit: str | int | None = None,
) -> F | Callable[[F], F]:
    """Declare a Temporal activity and register how it runs.

    Args:
        name: Activity type name. Default: the function's name.
        queue: Task queue it runs on. Default: the queue of the domain package that declares it
            (``sync.activities.*`` → ``sync``); required outside a domain package.
        retry: A :class:`RetryPolicy` or the name of one in :mod:`core.retry`. Default: standard.
        start_to_close: Longest single attempt. Default: 5 minutes, unless only
            ``schedule_to_close`` is given.
        schedule_to_close: Longest time over all attempts. Default: unbounded.
        heartbeat: Heartbeat timeout; set it for long activities that call
            ``activity.heartbeat()``. Default: none.
        local: Take the fast path: run as a *local activity* inside the worker that runs the
            job's workflow, which writes about half the history events and skips a round trip
            through the server. Only for short jobs (seconds) that need no heartbeat: attempts
            are not each visible in the history, a retry waits inside the worker while the
            backoff is short, and the activity must be served by the same worker as the
            workflow. Default: False.
        priority: Priority of its jobs in a backlog, 1 (first) to 5 (last), Celery's
            ``priority``; a dispatch may override it. Default: none (the server's middle, 3).
        fairness_key: Fairness key of its jobs: the server shares a queue's capacity between
            keys, so one key's backlog does not starve another's (needs the server's
            ``matching.enableFairness``, which ``lanes dev`` turns on). Default: none.
        rate_limit: The most jobs started in any second, minute or hour across every worker,
            Celery's notation (``"10/s"``, ``"1200/m"``; :mod:`core.ratelimit`), applied by the
            server to a whole queue: so the activity must run on a *sub-queue* of its domain, a
            queue of its own named ``<domain>.<name>`` (``queue="billing.psp"``), which the
            domain's worker polls beside its main one. ``LANES_RATE_LIMITS`` for that queue
            overrides it. Default: none.
    """

    def decorate(f: F) -> F:
        config = _build_config(
            f,
            name=name,
            queue=queue,
            retry=retry,
            start_to_close=start_to_close,
            schedule_to_close=schedule_to_close,
            heartbeat=heartbeat,
            local=local,
            priority=priority,
            fairness_key=fairness_key,
            rate_limit=rate_limit,
        )
        existing = _REGISTRY.get(config.name)
        if existing is not None and _origin(existing.fn) != _origin(f):
            raise ValueError(
                f"activity name {config.name!r} is declared twice: "
                f"{_origin(existing.fn)} and {_origin(f)}"
            )
        defined = temporal_activity.defn(name=config.name)(f)
        if existing is None:
            _REGISTRY[config.name] = config
        defined.__lanes_activity__ = _REGISTRY[config.name]  # type: ignore[attr-defined]
        return defined

    return decorate(fn) if fn is not None else decorate


def _build_config(
    f: Callable[..., Any],
    *,
    name: str | None,
    queue: TaskQueue | str | None,
    retry: RetryPolicy | str,
    start_to_close: timedelta | None,
    schedule_to_close: timedelta | None,
    heartbeat: timedelta | None,
    local: bool = False,
    priority: int | None = None,
    fairness_key: str | None = None,
    rate_limit: str | int | None = None,
) -> ActivityConfig:
    activity_name = name or f.__name__
    where = f"activity {activity_name!r} ({_origin(f)})"
    params = [
        p
        for p in inspect.signature(f).parameters.values()
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    if len(params) > 1:
        raise TypeError(
            f"{where} takes {len(params)} arguments; an activity takes one input model "
            "so fields can be added without breaking running workflows"
        )
    hints = typing.get_type_hints(f)
    input_type = hints.get(params[0].name, Any) if params else None
    input_required = bool(params) and params[0].default is inspect.Parameter.empty
    for label, value in (
        ("start_to_close", start_to_close),
        ("schedule_to_close", schedule_to_close),
        ("heartbeat", heartbeat),
    ):
        if value is not None and value <= timedelta(0):
            raise ValueError(f"{where}: {label} must be positive, got {value}")
    if start_to_close is None and schedule_to_close is None:
        start_to_close = DEFAULT_START_TO_CLOSE
    limit = start_to_close or schedule_to_close
    if heartbeat is not None and limit is not None and heartbeat >= limit:
        raise ValueError(f"{where}: heartbeat {heartbeat} must be shorter than the run ({limit})")
    if local and heartbeat is not None:
        raise ValueError(
            f"{where}: a local activity cannot heartbeat; drop local=True or heartbeat"
        )
    if priority is not None and (isinstance(priority, bool) or not 1 <= priority <= 5):
        raise ValueError(f"{where}: priority must be 1 (first) to 5 (last), got {priority!r}")
    if fairness_key is not None and not 0 < len(fairness_key.encode()) <= 64:
        raise ValueError(f"{where}: fairness_key must be 1 to 64 bytes, got {fairness_key!r}")
    try:
        policy = retry_policy(retry)
    except KeyError as err:
        raise ValueError(f"{where}: {err.args[0]}") from None
    try:
        declared = RateLimit.parse(rate_limit) if rate_limit is not None else None
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None
    if declared is not None and local:
        raise ValueError(
            f"{where}: a local activity runs inside its workflow's worker, where the server "
            "cannot limit its rate; drop local=True or rate_limit"
        )
    return ActivityConfig(
        name=activity_name,
        fn=f,
        queue=str(queue) if queue is not None else _domain_queue(f.__module__, where),
        retry_policy=policy,
        start_to_close_timeout=start_to_close,
        schedule_to_close_timeout=schedule_to_close,
        heartbeat_timeout=heartbeat,
        input_type=input_type,
        input_required=input_required,
        output_type=hints.get("return"),
        local=local,
        module=f.__module__,
        priority=priority,
        fairness_key=fairness_key,
        rate_limit=declared,
    )


def _domain_queue(module: str, where: str) -> str | None:
    top = module.split(".", 1)[0]
    if top == "core":
        return None  # built-ins run on every queue
    queue = queue_of_package(top)  # the domain's `lanes.domains` entry point names its queue
    if queue is None:
        raise ValueError(
            f"{where}: no queue given and {top!r} is not an installed domain's package "
            "(no `lanes.domains` entry point names it); pass queue="
        )
    return queue


def _origin(f: Callable[..., Any]) -> str:
    return f"{f.__module__}.{f.__qualname__}"


def get(name: str) -> ActivityConfig:
    """The registered config for ``name``; ``KeyError`` listing the known names otherwise."""
    try:
        return _REGISTRY[name]
    except KeyError:
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise KeyError(f"unknown activity {name!r}; registered here: {known}") from None


def config_of(activity: str | Callable[..., Any]) -> ActivityConfig | None:
    """The config of a registered activity given by name or function, or ``None``."""
    if callable(activity):
        config = getattr(activity, "__lanes_activity__", None)
        return config if isinstance(config, ActivityConfig) else None
    return _REGISTRY.get(activity)


def names() -> list[str]:
    """Every registered activity name, sorted."""
    return sorted(_REGISTRY)


def registered() -> Mapping[str, ActivityConfig]:
    """A snapshot of the whole registry."""
    return dict(_REGISTRY)


async def preload(*modules: str) -> None:
    """Import ``modules`` in a thread the first time an activity needs them; at once afterwards.

    A worker imports only its activities' declarations when it starts; what their bodies use
    (SQLAlchemy and the domain's store, an HTTP or SMTP client) is imported when the first job
    needs it, so an idle worker stays small and starts fast. Importing them on the event loop
    would stall it — heartbeats, other jobs, polling — for as long as the import takes (a second
    or more on a loaded machine), so the first caller imports in a thread and the event loop runs
    on; concurrent callers wait on the same import. Call it first thing in the activity, then
    import the names as usual (they are in ``sys.modules`` by then). An activity with a heartbeat
    timeout heartbeats while it waits, repeating the details it started with::

        await activities.preload("sync.store")
        from sync import store
    """
    missing = [m for m in modules if not _imported(m)]
    if not missing:
        return
    loading = asyncio.ensure_future(asyncio.to_thread(_import_all, missing))
    beating = temporal_activity.in_activity() and temporal_activity.info().heartbeat_timeout
    while beating:
        # The import may outlast a short heartbeat timeout on a busy machine: say the attempt is
        # alive, with the progress it started from (a heartbeat replaces the last details).
        temporal_activity.heartbeat(*temporal_activity.info().heartbeat_details)
        done, _ = await asyncio.wait({loading}, timeout=_HEARTBEAT_WHILE_LOADING)
        if done:
            break
    await loading


_HEARTBEAT_WHILE_LOADING = 0.5
"""Seconds between heartbeats while :func:`preload` imports (the SDK throttles what it sends)."""


def _imported(module: str) -> bool:
    found = sys.modules.get(module)
    # a module another thread is still importing is in sys.modules already, half done
    return found is not None and not getattr(found.__spec__, "_initializing", False)


def _import_all(modules: list[str]) -> None:
    for module in modules:
        importlib.import_module(module)


def job_options(options: ActivityOptions | None, *, local: bool) -> dict[str, Any]:
    """Keyword arguments for ``workflow.execute_activity`` (or ``execute_local_activity`` when
    ``local``) from a job's own options, with the documented defaults for what they leave out.

    Workflow code calls this, never the registry: a job started by ``dispatch`` carries every
    field (:meth:`ActivityConfig.resolve`); one started by hand from the UI or the ``temporal``
    CLI gets the defaults (standard retry, 5-minute attempts, the workflow's own queue).
    """
    o = options or ActivityOptions()
    policy = STANDARD_RETRY if o.retry_policy is None else o.retry_policy.to_policy()
    if o.maximum_attempts is not None:
        policy = dataclasses.replace(policy, maximum_attempts=o.maximum_attempts)
    start_to_close = o.start_to_close_timeout
    if start_to_close is None and o.schedule_to_close_timeout is None:
        start_to_close = DEFAULT_START_TO_CLOSE
    kwargs: dict[str, Any] = {
        "retry_policy": policy,
        "start_to_close_timeout": start_to_close,
        "schedule_to_close_timeout": o.schedule_to_close_timeout,
    }
    if not local:
        # A local activity runs inside the worker that runs the workflow: no queue, no heartbeat.
        kwargs["heartbeat_timeout"] = o.heartbeat_timeout
        if o.task_queue is not None:
            kwargs["task_queue"] = o.task_queue
    return kwargs


def type_adapter(tp: Any) -> pydantic.TypeAdapter[Any]:
    """A cached ``TypeAdapter`` for ``tp``: building one costs far more than using it."""
    cached = _ADAPTERS.get(tp)
    if cached is None:
        cached = _ADAPTERS[tp] = pydantic.TypeAdapter(tp)
    return cached


_ADAPTERS: dict[Any, pydantic.TypeAdapter[Any]] = {}


def _positive(value: timedelta | None) -> timedelta | None:
    # A zero or negative duration would fail every workflow task that reads it, forever.
    if value is not None and value <= timedelta(0):
        raise ValueError(f"must be a positive duration, got {value.total_seconds():g} s")
    return value


def _type_name(tp: Any) -> str:
    return getattr(tp, "__name__", None) or repr(tp)


def _short_errors(err: pydantic.ValidationError) -> str:
    parts = []
    for e in err.errors()[:5]:
        loc = ".".join(str(p) for p in e["loc"]) or "input"
        parts.append(f"{loc}: {e['msg']}")
    more = len(err.errors()) - 5
    return "; ".join(parts) + (f" (+{more} more)" if more > 0 else "")
