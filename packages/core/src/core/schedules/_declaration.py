"""``Schedule``: one periodic job, declared as data in a domain's ``schedules.py``.

Validation happens in two steps, both before anything reaches the server:

1. When the ``Schedule(...)`` is constructed: the shape (exactly one of ``every``/``cron``, a cron
   string the server will accept, a known time zone, sane durations, a target that is an activity
   or a workflow class).
2. When the list is loaded (:meth:`Schedule.resolve`, called by ``sync_schedules`` and
   ``load_schedules``): everything that needs the activity registry, which may not be filled yet
   while ``schedules.py`` itself is being imported — the activity exists, the input validates
   against its input model, the queue is known.

An activity target becomes a start of :class:`~core.workflows.SingleActivityWorkflow` on the
activity's queue with input ``{"activity": name, "input": ...}``. The workflow reads retry policy
and timeouts from the registry of the worker that runs it, so a scheduled run is configured
exactly like a dispatched one and the schedule itself holds no copy of that config to drift.
"""

from __future__ import annotations

import hashlib
import json
import zoneinfo
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pydantic_core
from temporalio.client import ScheduleOverlapPolicy

from core import activities
from core.schedules._cron import cron_problem
from core.task_queues import queue_of_package
from core.workflows.single_activity import SingleActivityInput, SingleActivityWorkflow

__all__ = ["ResolvedSchedule", "Schedule", "ScheduleError"]

MIN_CATCHUP_WINDOW = timedelta(seconds=10)
"""The server silently raises a shorter catch-up window to this."""

# Bumped when the canonical form changes, so every schedule is rewritten once in the new form.
_CANONICAL_VERSION = 1


class ScheduleError(ValueError):
    """A schedule declaration is invalid; the message names the schedule and the problem."""


@dataclass(frozen=True, kw_only=True)
class Schedule:
    """A periodic job: what to run, with what input, when, and how runs may overlap."""

    id: str
    """Schedule id on the server, unique in the namespace; prefix it with the domain
    (``"operations.heartbeat"``). Also the workflow id prefix of every run."""
    target: str | Callable[..., Any] | type
    """A registered activity (name or function), run through ``SingleActivityWorkflow`` with its
    registered config, or a workflow class."""
    input: Any = None
    """The target's single input (a model, dataclass or JSON-like value). Default: none."""
    every: timedelta | None = None
    """Run at this interval (counted from the epoch, so every 5 minutes means :00, :05...)."""
    cron: str | None = None
    """Run at these times, e.g. ``"30 2 * * MON-FRI"``; give exactly one of ``every``/``cron``."""
    timezone: str | None = None
    """IANA time zone the cron string is read in. Default: UTC."""
    jitter: timedelta | None = None
    """Delay each run by a random amount up to this, to spread load. Default: none."""
    overlap: ScheduleOverlapPolicy | str = ScheduleOverlapPolicy.SKIP
    """What to do when a run is due while the previous one still runs. Default: skip it.
    Accepts the enum or its name (``"buffer_one"``, ``"allow_all"``...)."""
    catchup_window: timedelta = timedelta(minutes=5)
    """After the server was unavailable, runs missed within this window still happen; older ones
    are dropped. Default: 5 minutes (Temporal's own default is a year of catch-up). Minimum 10 s."""
    pause_on_failure: bool = False
    """Pause the schedule when a run fails (after its retries). Default: keep going."""
    paused: bool = False
    """Declare the schedule paused. When false, a pause set by an operator is kept."""
    task_queue: str | None = None
    """Queue the run starts on. Default: the activity's registered queue, or the queue of the
    domain package that defines the workflow class."""
    description: str = ""
    """What this is for; shown as the schedule's note and in ``lanes schedules list``."""

    def __post_init__(self) -> None:
        if not isinstance(self.id, str) or not self.id.strip() or self.id != self.id.strip():
            raise ScheduleError(f"schedule id must be a non-empty string, got {self.id!r}")
        problem = self._shape_problem()
        if problem:
            raise ScheduleError(f"schedule {self.id!r}: {problem}")
        # Frozen: normalise the policy name once, here, so the rest sees only the enum.
        object.__setattr__(self, "overlap", _overlap(self.id, self.overlap))

    @property
    def overlap_policy(self) -> ScheduleOverlapPolicy:
        """``overlap`` as the enum."""
        return _overlap(self.id, self.overlap)

    def _shape_problem(self) -> str | None:
        if (self.every is None) == (self.cron is None):
            return "give exactly one of every=timedelta(...) or cron='...'"
        if self.every is not None and self.every < timedelta(seconds=1):
            return f"every must be at least 1 second, got {self.every}"
        if self.cron is not None:
            problem = cron_problem(self.cron)
            if problem:
                return f"bad cron string {self.cron!r}: {problem}"
        if self.timezone is not None:
            try:
                zoneinfo.ZoneInfo(self.timezone)
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                return f"unknown time zone {self.timezone!r}; use an IANA name like 'Europe/Berlin'"
        if self.jitter is not None and self.jitter < timedelta(0):
            return f"jitter must not be negative, got {self.jitter}"
        if self.catchup_window < MIN_CATCHUP_WINDOW:
            return (
                f"catchup_window must be at least {MIN_CATCHUP_WINDOW}, got {self.catchup_window}"
            )
        if isinstance(self.target, str):
            return None if self.target else "target is an empty activity name"
        if isinstance(self.target, type):
            if not hasattr(self.target, "__temporal_workflow_definition"):
                return f"target {self.target.__qualname__} is not a @workflow.defn class"
            return None
        if callable(self.target) and activities.config_of(self.target) is None:
            name = getattr(self.target, "__qualname__", repr(self.target))
            return f"target {name} is not declared with @activities.defn"
        if not callable(self.target):
            return (
                f"target must be an activity name, function or workflow class, got {self.target!r}"
            )
        return None

    def resolve(self) -> ResolvedSchedule:
        """Check the target against the registry and fix what the server will be asked for."""
        try:
            if isinstance(self.target, type):
                return self._resolve_workflow(self.target)
            return self._resolve_activity()
        except ScheduleError:
            raise
        except (KeyError, ValueError) as err:
            raise ScheduleError(f"schedule {self.id!r}: {_message(err)}") from None

    def _resolve_activity(self) -> ResolvedSchedule:
        target = self.target
        config = activities.config_of(target) if callable(target) else activities.get(str(target))
        assert config is not None  # checked in __post_init__
        value = config.validate_input(self.input)
        payload = (
            None
            if value is None
            else activities.type_adapter(config.input_type).dump_python(value, mode="json")
        )
        queue = self.task_queue or config.queue
        if not queue:
            raise ScheduleError(
                f"schedule {self.id!r}: activity {config.name!r} runs on every queue; "
                "pass task_queue= to say which worker runs the schedule"
            )
        # How the runs go is decided here and stored in the schedule's action, so the worker
        # that runs a scheduled job needs no registry; a changed declaration changes the
        # fingerprint, and the next sync updates the schedule.
        job = SingleActivityInput(
            activity=config.name, input=payload, options=config.resolve(task_queue=str(queue))
        )
        return ResolvedSchedule(
            self,
            workflow=_workflow_definition(SingleActivityWorkflow).name,
            target_name=config.name,
            args=(job.model_dump(mode="json", exclude_none=True),),
            task_queue=str(queue),
        )

    def _resolve_workflow(self, cls: type) -> ResolvedSchedule:
        definition = _workflow_definition(cls)
        arg_types = list(definition.arg_types or [])
        if arg_types:
            try:
                value = activities.type_adapter(arg_types[0]).validate_python(self.input)
            except ValueError as err:
                raise ScheduleError(
                    f"schedule {self.id!r}: invalid input for workflow {definition.name!r}: "
                    f"{_message(err)}"
                ) from None
            args: tuple[Any, ...] = (
                activities.type_adapter(arg_types[0]).dump_python(value, mode="json"),
            )
        elif self.input is not None:
            raise ScheduleError(
                f"schedule {self.id!r}: workflow {definition.name!r} takes no input, "
                f"got {self.input!r}"
            )
        else:
            args = ()
        queue = self.task_queue or _domain_queue(cls.__module__)
        if not queue:
            raise ScheduleError(
                f"schedule {self.id!r}: workflow {definition.name!r} is not in a domain package; "
                "pass task_queue="
            )
        return ResolvedSchedule(
            self,
            workflow=definition.name,
            target_name=definition.name,
            args=args,
            task_queue=str(queue),
        )


@dataclass(frozen=True)
class ResolvedSchedule:
    """A validated schedule and exactly what the server will be asked to run."""

    declared: Schedule
    workflow: str
    """Workflow type each run starts."""
    target_name: str
    """Activity or workflow name, for people."""
    args: tuple[Any, ...]
    """The workflow's arguments (none or one), as plain JSON."""
    task_queue: str

    @property
    def id(self) -> str:
        """The schedule id."""
        return self.declared.id

    @property
    def spec_text(self) -> str:
        """When it runs, for people: ``every 0:01:00`` or ``cron 0 3 * * * (Europe/Berlin)``."""
        s = self.declared
        if s.every is not None:
            text = f"every {s.every}"
        else:
            text = f"cron {s.cron} ({s.timezone or 'UTC'})"
        return text + (f" ±{s.jitter}" if s.jitter else "")

    def canonical(self) -> dict[str, Any]:
        """Everything that defines the schedule, as plain sorted JSON (what the hash covers)."""
        s = self.declared
        return {
            "version": _CANONICAL_VERSION,
            "workflow": self.workflow,
            "args": list(self.args),
            "task_queue": self.task_queue,
            "every": _seconds(s.every),
            "cron": s.cron,
            "timezone": s.timezone,
            "jitter": _seconds(s.jitter),
            "overlap": s.overlap_policy.name,
            "catchup_window": _seconds(s.catchup_window),
            "pause_on_failure": s.pause_on_failure,
            "paused": s.paused,
            "description": s.description,
        }

    def fingerprint(self) -> str:
        """A short hash of :meth:`canonical`: equal fingerprints mean nothing to update."""
        canonical = pydantic_core.to_jsonable_python(self.canonical())
        text = json.dumps(canonical, sort_keys=True, separators=(",", ":"))
        return hashlib.sha256(text.encode()).hexdigest()[:20]


def _workflow_definition(cls: type) -> Any:
    # getattr with a string: written as an attribute inside a class body, Python would mangle
    # the double-underscore name.
    return getattr(cls, "__temporal_workflow_definition")


def _overlap(schedule_id: str, value: ScheduleOverlapPolicy | str) -> ScheduleOverlapPolicy:
    if isinstance(value, ScheduleOverlapPolicy):
        return value
    try:
        return ScheduleOverlapPolicy[str(value).upper().replace("-", "_")]
    except KeyError:
        known = ", ".join(p.name.lower() for p in ScheduleOverlapPolicy)
        raise ScheduleError(
            f"schedule {schedule_id!r}: unknown overlap policy {value!r}; known: {known}"
        ) from None


def _domain_queue(module: str) -> str | None:
    return queue_of_package(module)  # from the domain's `lanes.domains` entry point


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _message(err: Exception) -> str:
    # KeyError's str() wraps the message in quotes.
    return str(err.args[0]) if isinstance(err, KeyError) and err.args else str(err)
