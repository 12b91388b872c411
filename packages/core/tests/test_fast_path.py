"""The local-activity fast path: same result, fewer history events, retries still apply."""

import uuid
from collections import Counter
from datetime import timedelta

import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client
from temporalio.common import RetryPolicy

from core import activities
from core.dev.testing import running_worker
from core.dispatch import DispatchError, dispatch

CALLS: Counter[str] = Counter()

# These tests cover the workflow job engine (SingleActivityWorkflow), which schedules use.
pytestmark = pytest.mark.usefixtures("workflow_engine")


@activities.defn(
    queue="fast-test",
    local=True,
    start_to_close=timedelta(seconds=5),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=50), maximum_attempts=4),
)
async def quick_lookup(input: str) -> str:
    CALLS[input] += 1
    if input.startswith("flaky") and CALLS[input] < 3:
        raise RuntimeError("try again")
    return input[::-1]


async def event_types(job) -> list[int]:  # type: ignore[no-untyped-def]
    history = await job.handle.fetch_history()
    return [e.event_type for e in history.events]


async def test_declared_local_runs_without_an_activity_task(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[quick_lookup]):
        job = await dispatch(quick_lookup, "abc", task_queue=task_queue)
        assert await job.result() == "cba"
        standard = await dispatch(
            quick_lookup, "abc", task_queue=task_queue, options={"local": False}
        )
        assert await standard.result() == "cba"
    fast, slow = await event_types(job), await event_types(standard)
    assert EventType.EVENT_TYPE_MARKER_RECORDED in fast
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in fast
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED in slow
    assert len(fast) < len(slow)


async def test_local_retries_follow_the_registered_policy(
    temporal_client: Client, task_queue: str
) -> None:
    key = f"flaky-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[quick_lookup]):
        job = await dispatch(quick_lookup, key, task_queue=task_queue)
        assert await job.result() == key[::-1]
    assert CALLS[key] == 3


async def test_ping_can_take_the_fast_path_per_call(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue):
        job = await dispatch("lanes.ping", task_queue=task_queue, options={"local": True})
        assert (await job.result()).task_queue == task_queue
    assert EventType.EVENT_TYPE_MARKER_RECORDED in await event_types(job)


def test_a_local_activity_cannot_heartbeat() -> None:
    async def long_job() -> None: ...

    with pytest.raises(ValueError, match="a local activity cannot heartbeat"):
        activities.defn(queue="q", local=True, heartbeat=timedelta(seconds=5))(long_job)


def test_one_rule_decides_local_and_the_job_carries_every_decision() -> None:
    config = activities.get("quick_lookup")
    assert config.runs_local() is True  # declared
    assert config.runs_local(activities.ActivityOptions(local=False)) is False  # the call wins
    resolved = config.resolve(activities.ActivityOptions(maximum_attempts=2), task_queue="fast")
    assert resolved.local is True and resolved.task_queue == "fast"
    assert resolved.start_to_close_timeout == timedelta(seconds=5)
    assert resolved.retry_policy is not None
    assert resolved.retry_policy.maximum_attempts == 2
    assert resolved.retry_policy.initial_interval == timedelta(milliseconds=50)
    # What a worker of any version derives from the job alone equals the registered config.
    kwargs = activities.job_options(resolved, local=True)
    assert kwargs["retry_policy"] == RetryPolicy(
        initial_interval=timedelta(milliseconds=50),
        backoff_coefficient=2.0,
        maximum_interval=timedelta(seconds=5),
        maximum_attempts=2,
    )


async def test_a_call_cannot_make_a_heartbeating_activity_local(
    temporal_client: Client,
) -> None:
    @activities.defn(queue="fast-test", heartbeat=timedelta(seconds=5))
    async def beating() -> None: ...

    with pytest.raises(DispatchError, match="heartbeats; it cannot run as a local activity"):
        await dispatch(beating, options={"local": True}, client=temporal_client)
