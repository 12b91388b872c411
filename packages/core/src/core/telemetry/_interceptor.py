"""The worker interceptor: log context, one line and metrics per finished activity attempt.

For every activity attempt it binds ``job_id`` (the dispatched job: the standalone activity's id,
or the id of the workflow that runs the activity), ``workflow_id``, ``run_id`` (both empty for a
standalone activity), ``activity``, ``attempt``, ``task_queue`` (and ``activity_id``) as structlog
context variables, so every line the activity
logs, through structlog or stdlib logging, in a coroutine or a thread (the SDK copies the context
into its executor), carries them; ``trace_id``/``span_id`` are added at log time from the current
span, which the tracing interceptor (outside this one) has already opened.

An exception leaving the activity has its message (and its causes') redacted
(:func:`core.redact.redact_exception`) before the SDK stores it in the history.

When the attempt ends it logs ``activity finished`` (outcome, duration_ms, error_type) and records
``lanes_activity_duration_seconds`` and ``lanes_activity_failures_total``. Workflows get one
``workflow finished`` line from :class:`._workflow_log.WorkflowLogInterceptor`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from temporalio import activity
from temporalio.worker import (
    ActivityInboundInterceptor,
    ExecuteActivityInput,
    Interceptor,
    WorkflowInboundInterceptor,
    WorkflowInterceptorClassInput,
)

from core.redact import redact_exception
from core.telemetry._metrics import ACTIVITY_DURATION, ACTIVITY_FAILURES
from core.telemetry._structlog import structlog
from core.telemetry._workflow_log import WorkflowLogInterceptor

__all__ = ["WorkerTelemetryInterceptor"]

# stdlib logging, not structlog: this runs in every worker, including test processes that never
# called configure(); with configure() the extras become fields like any structlog key.
log = logging.getLogger("lanes.worker")


class WorkerTelemetryInterceptor(Interceptor):
    """Add to a ``Worker``'s ``interceptors`` (``core.worker.build_worker`` does)."""

    def intercept_activity(self, next: ActivityInboundInterceptor) -> ActivityInboundInterceptor:
        return _ActivityTelemetry(next)

    def workflow_interceptor_class(
        self, input: WorkflowInterceptorClassInput
    ) -> type[WorkflowInboundInterceptor] | None:
        return WorkflowLogInterceptor


class _ActivityTelemetry(ActivityInboundInterceptor):
    async def execute_activity(self, input: ExecuteActivityInput) -> Any:
        info = activity.info()
        with structlog.contextvars.bound_contextvars(
            job_id=info.workflow_id or info.activity_id,
            workflow_id=info.workflow_id,
            run_id=info.workflow_run_id,
            activity=info.activity_type,
            activity_id=info.activity_id,
            attempt=info.attempt,
            task_queue=info.task_queue,
        ):
            started = time.perf_counter()
            outcome, error_type = "completed", None
            try:
                return await super().execute_activity(input)
            except asyncio.CancelledError:
                outcome, error_type = "cancelled", "CancelledError"
                raise
            except BaseException as err:
                # activity.raise_complete_async() ends the attempt without a result: not a failure.
                if type(err).__name__ == "_CompleteAsyncError":
                    outcome = "async"
                else:
                    outcome = "failed"
                    error_type = str(getattr(err, "type", None) or type(err).__name__)
                    # Before the SDK turns it into the failure the history keeps (and before the
                    # tracing interceptor outside records it on the span).
                    redact_exception(err)
                raise
            finally:
                seconds = time.perf_counter() - started
                ACTIVITY_DURATION.labels(info.activity_type, outcome).observe(seconds)
                if outcome == "failed":
                    ACTIVITY_FAILURES.labels(info.activity_type, error_type).inc()
                failed = outcome in ("failed", "cancelled")
                level = logging.WARNING if failed else logging.INFO
                ms = round(seconds * 1000, 1)
                fields: dict[str, Any] = {"outcome": outcome, "duration_ms": ms}
                if error_type:
                    fields["error_type"] = error_type
                log.log(level, "activity finished", extra=fields)
