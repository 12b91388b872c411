"""Worker-side guards of the job contract: unknown activity names and oversized results.

- **Unknown names.** Every worker registers a dynamic activity that takes any name it does not
  serve. It fails with the names the worker does serve, retried only briefly (every half second
  for ten seconds, three attempts at least): in a rolling deploy another worker of the queue may
  be a newer version that serves the name, and the server hands each retry to whichever worker
  polls. The window is counted in time, not attempts: with two versions polling, three attempts
  all landing on the old one happen to one job in eight, twenty in a row to about one in a
  million. After the window the job fails for good instead of waiting until a timeout.
- **Oversized results.** A result over ``LANES_PAYLOAD_LIMIT`` would be refused by the server
  when the worker reports it, and the attempt retried until the policy gives up; it fails the
  job at once, non-retryably, naming size and limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic_core
from temporalio import activity
from temporalio.common import RawValue
from temporalio.exceptions import ApplicationError
from temporalio.worker import ActivityInboundInterceptor, ExecuteActivityInput, Interceptor

from core.settings import settings

__all__ = [
    "UNKNOWN_ACTIVITY_ATTEMPTS",
    "UNKNOWN_ACTIVITY_WINDOW",
    "JobGuardInterceptor",
    "unknown_activity",
]

UNKNOWN_ACTIVITY_ATTEMPTS = 3
"""Fewest attempts an unknown activity name gets before its job fails."""
UNKNOWN_ACTIVITY_WINDOW = timedelta(seconds=10)
"""How long after its first attempt an unknown name keeps being retried, half a second apart."""


def unknown_activity(task_queue: str, served: frozenset[str]) -> Any:
    """The dynamic activity a worker on ``task_queue`` serving ``served`` registers."""
    names = ", ".join(sorted(served)) or "nothing"

    @activity.defn(dynamic=True)
    async def unknown(args: Sequence[RawValue]) -> None:
        info = activity.info()
        waited = datetime.now(UTC) - info.scheduled_time
        last = info.attempt >= UNKNOWN_ACTIVITY_ATTEMPTS and waited >= UNKNOWN_ACTIVITY_WINDOW
        raise ApplicationError(
            f"unknown activity {info.activity_type!r} on task queue {task_queue!r}; "
            f"this worker runs: {names}"
            + ("" if last else " (retrying in case another worker version serves it)"),
            type="UnknownActivity",
            non_retryable=last,
            next_retry_delay=None if last else timedelta(seconds=0.5),
        )

    return unknown


class JobGuardInterceptor(Interceptor):
    """Fails an activity whose result is over the payload limit, non-retryably."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ResultLimit(next)


class _ResultLimit(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        result = await super().execute_activity(input)
        limit = settings().payload_limit
        if result is not None and limit > 0:
            size = len(pydantic_core.to_json(result))
            if size > limit:
                raise ApplicationError(
                    f"result of {activity.info().activity_type!r} is {size:,} bytes, over the "
                    f"payload limit of {limit:,} bytes; store it elsewhere (a database row, "
                    "object storage) and return its key",
                    type="PayloadTooLarge",
                    non_retryable=True,
                )
        return result
