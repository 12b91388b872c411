"""core.durable from real workflow code: registered config, children, detached children."""

import asyncio
import uuid
from datetime import timedelta

import pydantic
from temporalio import workflow
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowExecutionStatus

with workflow.unsafe.imports_passed_through():
    from core import activities, durable
    from core.dev.testing import running_worker


class Word(pydantic.BaseModel):
    text: str


@activities.defn(queue="durable-test", start_to_close=timedelta(seconds=42))
async def shout(input: Word) -> Word:
    return Word(text=input.text.upper() + "!")


@workflow.defn
class ShoutWorkflow:
    @workflow.run
    async def run(self, word: Word) -> str:
        result: Word = await durable.run_activity(shout, word)
        return result.text


@workflow.defn
class LocalShoutWorkflow:
    @workflow.run
    async def run(self, word: Word) -> str:
        result: Word = await durable.run_activity(
            shout, word, options=activities.ActivityOptions(local=True)
        )
        return result.text


@workflow.defn
class SlowChildWorkflow:
    @workflow.run
    async def run(self, seconds: float) -> str:
        await workflow.sleep(seconds)
        return "child done"


@workflow.defn
class ParentWorkflow:
    @workflow.run
    async def run(self, child_id: str) -> list[str]:
        shouted = await durable.execute_child(ShoutWorkflow.run, Word(text="hi"))
        detached = await durable.start_detached_child(SlowChildWorkflow.run, 2.0, id=child_id)
        return [shouted, detached]


async def test_run_activity_uses_the_registered_config(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(
        temporal_client, task_queue=task_queue, activities=[shout], workflows=[ShoutWorkflow]
    ):
        handle = await temporal_client.start_workflow(
            ShoutWorkflow.run, Word(text="hey"), id=f"shout-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await handle.result() == "HEY!"
    history = await handle.fetch_history()
    scheduled = next(
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    )
    assert scheduled.start_to_close_timeout.ToSeconds() == 42
    assert scheduled.retry_policy.maximum_attempts == 4  # the standard policy
    # Served on the workflow's own queue, so a test worker on a fresh queue runs it.
    assert scheduled.task_queue.name == task_queue


async def test_run_activity_honours_local_by_the_one_rule(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(
        temporal_client, task_queue=task_queue, activities=[shout], workflows=[LocalShoutWorkflow]
    ):
        handle = await temporal_client.start_workflow(
            LocalShoutWorkflow.run,
            Word(text="psst"),
            id=f"ls-{uuid.uuid4()}",
            task_queue=task_queue,
        )
        assert await handle.result() == "PSST!"
    types = [e.event_type for e in (await handle.fetch_history()).events]
    assert EventType.EVENT_TYPE_MARKER_RECORDED in types
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types


async def test_detached_child_outlives_its_parent(temporal_client: Client, task_queue: str) -> None:
    child_id = f"detached-{uuid.uuid4()}"
    async with running_worker(
        temporal_client,
        task_queue=task_queue,
        activities=[shout],
        workflows=[ParentWorkflow, ShoutWorkflow, SlowChildWorkflow],
    ):
        parent = await temporal_client.start_workflow(
            ParentWorkflow.run, child_id, id=f"parent-{uuid.uuid4()}", task_queue=task_queue
        )
        assert await parent.result() == ["HI!", child_id]
        child = temporal_client.get_workflow_handle(child_id)
        assert (await child.describe()).status == WorkflowExecutionStatus.RUNNING
        assert await asyncio.wait_for(child.result(), 20) == "child done"
