"""The raw-SDK workflows and activity: the same no-op job as ``lanes.ping``, nothing around it.

Plain ``@workflow.defn`` classes with the SDK's defaults (sandboxed, default data converter):
what a team writing directly against the SDK would have.
"""

from __future__ import annotations

import os
from datetime import timedelta

from temporalio import activity, workflow

__all__ = ["RawPingWorkflow", "RawStepsWorkflow", "raw_noop"]

ACTIVITY_TIMEOUT = timedelta(seconds=30)


@activity.defn(name="raw.noop")
async def raw_noop() -> dict[str, int]:
    """The no-op job: answer with the worker's PID (as ``lanes.ping`` answers with its identity)."""
    return {"pid": os.getpid()}


@workflow.defn(name="RawPingWorkflow")
class RawPingWorkflow:
    """One activity per workflow, the shape of a Lanes ``dispatch``."""

    @workflow.run
    async def run(self) -> dict[str, int]:
        result: dict[str, int] = await workflow.execute_activity(
            raw_noop, start_to_close_timeout=ACTIVITY_TIMEOUT
        )
        return result


@workflow.defn(name="RawStepsWorkflow")
class RawStepsWorkflow:
    """``steps`` sequential no-op activities in one workflow."""

    @workflow.run
    async def run(self, steps: int) -> int:
        for _ in range(steps):
            await workflow.execute_activity(raw_noop, start_to_close_timeout=ACTIVITY_TIMEOUT)
        return steps
