"""A Celery-shaped front on :func:`core.dispatch.dispatch`, for call sites being migrated.

A Celery task becomes a Lanes activity with the calls people already type::

    from core.celery import task

    @task(queue="email", priority=2)
    async def send_welcome(input: WelcomeInput) -> None: ...

    result = await send_welcome.delay(user_id=42)          # Celery: send_welcome.delay(...)
    result = await send_welcome.apply_async(kwargs={"user_id": 42}, countdown=60, task_id="w-42")
    await result.get(timeout=30)                            # the return value, typed
    await result.ready(), await result.status               # "PENDING" ... "SUCCESS"
    await result.revoke()                                   # cancel (terminate=True: at once)

Differences a migrator must know (see docs/jobs.md for the whole table):

- Everything is ``await``-ed: dispatching is a call to the Temporal server.
- A task takes **one** input (a pydantic model or dataclass): ``.delay(obj)`` passes it,
  ``.delay(field=value, ...)`` builds it from keywords; more positional arguments are refused.
- ``priority`` is Lanes' 1 (first) to 5 (last), not Celery's broker-specific 0-9.
- ``task_id`` is the idempotency key: the same id while the job runs or after it succeeded
  starts nothing (Celery would run it twice).
- Retries come from the task's retry policy (``retry=``), not from ``self.retry()`` in the body.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any, Generic, ParamSpec, TypeVar, overload

from core import activities, jobs
from core._jobs import DispatchError
from core.dispatch import Dispatched, dispatch
from core.jobs import JobState

__all__ = ["AsyncResult", "Task", "task"]

P = ParamSpec("P")
R = TypeVar("R")

# Celery's state names for Lanes' job states.
_CELERY_STATES = {
    JobState.SCHEDULED: "PENDING",
    JobState.RUNNING: "STARTED",
    JobState.PAUSED: "PENDING",
    JobState.CANCEL_REQUESTED: "STARTED",
    JobState.COMPLETED: "SUCCESS",
    JobState.FAILED: "FAILURE",
    JobState.TIMED_OUT: "FAILURE",
    JobState.CANCELED: "REVOKED",
    JobState.TERMINATED: "REVOKED",
}


class AsyncResult(Generic[R]):
    """Celery's ``AsyncResult`` for one job: ``AsyncResult(task_id)`` or what ``.delay`` returns."""

    def __init__(self, id: str, *, task: Task[Any, R] | None = None) -> None:
        self.id = id
        """The job id (Celery's task id)."""
        self._task = task
        self._job: Dispatched | None = None

    @classmethod
    def _of(cls, job: Dispatched, task: Task[Any, R]) -> AsyncResult[R]:
        result = cls(job.id, task=task)
        result._job = job
        return result

    async def get(self, timeout: float | None = None) -> R:
        """Wait for the return value; raises ``TimeoutError`` after ``timeout`` seconds (the job
        keeps running) and :class:`core.dispatch.JobFailedError` when it failed."""
        import asyncio

        wait: Awaitable[Any]
        if self._job is not None:
            wait = self._job.result()
        else:
            wait = jobs.result(self.id, activity=self._task.fn if self._task else None)
        value: R = await asyncio.wait_for(wait, timeout)
        return value

    async def ready(self) -> bool:
        """Whether the job has finished (succeeded, failed or was revoked)."""
        return (await jobs.status(self.id)).finished

    async def successful(self) -> bool:
        """Whether the job finished with a result."""
        return (await jobs.status(self.id)).state == JobState.COMPLETED

    async def failed(self) -> bool:
        """Whether the job failed or timed out."""
        return (await jobs.status(self.id)).state in (JobState.FAILED, JobState.TIMED_OUT)

    @property
    def status(self) -> Awaitable[str]:
        """Celery's state name: PENDING, STARTED, SUCCESS, FAILURE or REVOKED (``await`` it)."""

        async def read() -> str:
            return _CELERY_STATES[(await jobs.status(self.id)).state]

        return read()

    async def revoke(self, terminate: bool = False) -> None:
        """Cancel the job (a running attempt stops at its next heartbeat); ``terminate=True``
        ends it at once."""
        if terminate:
            await jobs.terminate(self.id, reason="revoked")
        else:
            await jobs.cancel(self.id, reason="revoked")

    def __repr__(self) -> str:
        return f"<AsyncResult: {self.id}>"


class Task(Generic[P, R]):
    """A Lanes activity with Celery's calling conventions. Calling it runs the function here;
    ``.fn`` is the activity function a worker registers (domains find it on their own)."""

    def __init__(self, fn: Callable[P, Awaitable[R]] | Callable[P, R]) -> None:
        self.fn = fn
        config = activities.config_of(fn)
        assert config is not None, "Task wraps a registered activity"
        self.name = config.name
        """The activity name (Celery's task name)."""
        # dispatch(task_object) and activities.config_of(task_object) work like the function.
        self.__lanes_activity__ = config
        functools.update_wrapper(self, fn)

    def __call__(self, *args: P.args, **kwargs: P.kwargs) -> Awaitable[R] | R:
        return self.fn(*args, **kwargs)

    async def delay(self, *args: Any, **kwargs: Any) -> AsyncResult[R]:
        """Dispatch now with this input (Celery's ``.delay``)."""
        return await self.apply_async(args, kwargs)

    async def apply_async(
        self,
        args: Sequence[Any] | None = None,
        kwargs: Mapping[str, Any] | None = None,
        *,
        countdown: float | None = None,
        eta: datetime | None = None,
        priority: int | None = None,
        task_id: str | None = None,
        queue: str | None = None,
        expires: float | datetime | None = None,
    ) -> AsyncResult[R]:
        """Dispatch with Celery's options: ``countdown`` seconds or an ``eta``, ``priority``
        1-5, ``task_id`` (the idempotency key), ``queue``, ``expires`` (give up if not done by
        then)."""
        if countdown is not None and eta is not None:
            raise DispatchError("pass countdown or eta, not both")
        delay: timedelta | float | None = countdown
        if eta is not None:
            if eta.tzinfo is None:
                raise DispatchError("eta must be timezone-aware (datetime.now(UTC) + ...)")
            delay = max(eta - datetime.now(UTC), timedelta(0))
        options: dict[str, Any] | None = None
        if expires is not None:
            seconds = (
                (expires - datetime.now(UTC)).total_seconds()
                if isinstance(expires, datetime)
                else float(expires)
            )
            options = {"schedule_to_close_timeout": seconds}
        job = await dispatch(
            self.fn,
            _one_input(self.name, args or (), kwargs or {}),
            task_queue=queue,
            id=task_id,
            start_delay=delay,
            priority=priority,
            options=options,
        )
        return AsyncResult._of(job, self)

    def AsyncResult(self, task_id: str) -> AsyncResult[R]:  # Celery's spelling
        """A result handle for a job of this task by id."""
        return AsyncResult(task_id, task=self)


def _one_input(name: str, args: Sequence[Any], kwargs: Mapping[str, Any]) -> Any:
    if args and kwargs:
        raise DispatchError(
            f"task {name!r} takes one input: pass it positionally or as keywords, not both"
        )
    if len(args) > 1:
        raise DispatchError(
            f"task {name!r} takes one input (a model or dataclass), got {len(args)} arguments; "
            "put them in its input model"
        )
    if args:
        return args[0]
    return dict(kwargs) if kwargs else None


@overload
def task(fn: Callable[P, Awaitable[R]], /) -> Task[P, R]: ...


@overload
def task(
    *,
    name: str | None = None,
    queue: str | None = None,
    priority: int | None = None,
    **config: Any,
) -> Callable[[Callable[P, Awaitable[R]]], Task[P, R]]: ...


def task(
    fn: Callable[P, Awaitable[R]] | None = None,
    /,
    *,
    name: str | None = None,
    queue: str | None = None,
    priority: int | None = None,
    **config: Any,
) -> Task[P, R] | Callable[[Callable[P, Awaitable[R]]], Task[P, R]]:
    """Declare a task: :func:`core.activities.defn` (same keywords: ``retry``,
    ``start_to_close``, ``heartbeat``, ``fairness_key``...) returning a :class:`Task`."""

    def decorate(f: Callable[P, Awaitable[R]]) -> Task[P, R]:
        defined = activities.defn(name=name, queue=queue, priority=priority, **config)(f)
        return Task(defined)

    return decorate(fn) if fn is not None else decorate
