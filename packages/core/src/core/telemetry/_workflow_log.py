"""The worker's one line per finished workflow, logged from inside the workflow sandbox.

Workflow-safe on purpose: it runs inside the sandbox, so it logs only through ``workflow.logger``
(which the SDK silences during replay, so a workflow replayed after a worker restart does not log
its end twice) and measures with workflow time, not the wall clock.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio import workflow
from temporalio.exceptions import FailureError
from temporalio.worker import ExecuteWorkflowInput, WorkflowInboundInterceptor

__all__ = ["WorkflowLogInterceptor"]


class WorkflowLogInterceptor(WorkflowInboundInterceptor):
    """Logs ``workflow finished`` with outcome, duration and error type."""

    async def execute_workflow(self, input: ExecuteWorkflowInput) -> Any:
        try:
            result = await super().execute_workflow(input)
        except workflow.ContinueAsNewError:
            _finished("continued_as_new")
            raise
        except asyncio.CancelledError:
            _finished("cancelled", "CancelledError")
            raise
        except Exception as err:
            # FailureError and the configured failure types (pydantic's ValidationError) end the
            # run; anything else fails only this workflow task, which the server retries.
            ends_run = isinstance(err, FailureError) or type(err).__name__ == "ValidationError"
            _finished("failed" if ends_run else "task_failed", _error_type(err))
            raise
        _finished("completed")
        return result


def _error_type(err: BaseException) -> str:
    # An activity's failure reaches the workflow as ActivityError; its cause says what happened.
    while err.__cause__ is not None:
        err = err.__cause__
    return str(getattr(err, "type", None) or type(err).__name__)


def _finished(outcome: str, error_type: str | None = None) -> None:
    info = workflow.info()
    duration = (workflow.now() - info.start_time).total_seconds()
    extra = {"outcome": outcome, "duration_ms": round(duration * 1000, 1)}
    if error_type:
        extra["error_type"] = error_type
    log = workflow.logger.warning if outcome in ("failed", "task_failed") else workflow.logger.info
    log("workflow finished", extra=extra)
