"""``time_skipper``: a workflow with long timers finishes without waiting them out."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta

from temporalio import workflow
from temporalio.client import Client
from temporalio.testing import TimeSkipper

from core.dev.testing import running_worker


@workflow.defn(sandboxed=False)
class NapWorkflow:
    """Sleeps, pings, sleeps again; returns how much workflow time passed, in hours."""

    @workflow.run
    async def run(self, hours: int) -> float:
        start = workflow.now()
        await workflow.sleep(timedelta(hours=hours))
        await workflow.execute_activity(
            "lanes.ping", None, start_to_close_timeout=timedelta(seconds=30)
        )
        await workflow.sleep(timedelta(hours=hours))
        return (workflow.now() - start) / timedelta(hours=1)


async def test_a_day_of_timers_passes_on_the_workflow_clock(
    temporal_client: Client, time_skipper: TimeSkipper, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, workflows=[NapWorkflow]):
        # Unskipped this would wait 24 hours; the bound is a hang guard, not a speed assertion.
        async with asyncio.timeout(120):
            elapsed = await time_skipper.client.execute_workflow(
                NapWorkflow.run, 12, id=f"nap-{uuid.uuid4().hex[:8]}", task_queue=task_queue
            )
    assert elapsed >= 24
