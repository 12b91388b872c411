"""SingleActivityWorkflow: fails fast on bad names and input, retries exactly per policy."""

import asyncio
import json
import subprocess
import uuid
from collections import Counter
from datetime import timedelta

import pydantic
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError

from core import activities
from core.dev.server import DevServer, temporal_binary
from core.dev.testing import running_worker
from core.dispatch import JobFailedError, dispatch

ATTEMPTS: Counter[str] = Counter()

# These tests cover the workflow job engine (SingleActivityWorkflow), which schedules use.
pytestmark = pytest.mark.usefixtures("workflow_engine")


class Flaky(pydantic.BaseModel):
    key: str
    fail_times: int


@activities.defn(
    queue="single-test",
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=100),
        backoff_coefficient=1.0,
        maximum_attempts=5,
        non_retryable_error_types=["PermanentError"],
    ),
)
async def flaky(input: Flaky) -> int:
    ATTEMPTS[input.key] += 1
    if ATTEMPTS[input.key] <= input.fail_times:
        raise RuntimeError(f"transient failure {ATTEMPTS[input.key]}")
    return ATTEMPTS[input.key]


@activities.defn(queue="single-test", retry=RetryPolicy(maximum_attempts=10))
async def permanent(input: str) -> None:
    ATTEMPTS[input] += 1
    raise ApplicationError("this will never work", type="PermanentError", non_retryable=True)


async def start_raw(client: Client, task_queue: str, *args: object) -> object:
    """Start the workflow the way the UI or another SDK would: plain JSON, no Lanes code."""
    return await client.execute_workflow(
        "SingleActivityWorkflow",
        args=list(args),
        id=f"raw-{uuid.uuid4()}",
        task_queue=task_queue,
        execution_timeout=timedelta(seconds=30),
    )


async def test_an_activity_this_worker_lacks_is_left_to_the_queue_not_refused_by_the_workflow(
    temporal_client: Client, task_queue: str
) -> None:
    # The workflow no longer judges names (another worker version may serve it): the activity
    # task reaches a worker, and the worker names what it does serve.
    body = {"activity": "flakey", "input": None, "options": {"maximum_attempts": 1}}
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(start_raw(temporal_client, task_queue, body), 10)
    cause = caught.value.cause
    assert isinstance(cause, ActivityError) and isinstance(cause.cause, ApplicationError)
    assert "flakey" in cause.cause.message and "flaky, lanes.ping" in cause.cause.message


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), "got 0 inputs"),
        (({"activity": "flaky"}, {"activity": "flaky"}), "got 2 inputs"),
        ((b"\x00binary",), "binary/plain"),
        (({"activity": "flaky", "typo": 1},), "typo: Extra inputs are not permitted"),
        (({"activity": "flaky", "options": {"maximum_attempts": -1}},), "maximum_attempts"),
        (({"activity": "flaky", "options": {"retry_policy": "nosuchpolicy"}},), "nosuchpolicy"),
        (({"activity": "flaky", "options": {"start_to_close_timeout": -5}},), "positive"),
        (({"activity": ""},), "activity: String should have at least 1 character"),
    ],
)
async def test_a_malformed_start_fails_at_once_instead_of_hanging(
    temporal_client: Client, task_queue: str, args: tuple[object, ...], expected: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(start_raw(temporal_client, task_queue, *args), 10)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "InvalidInput" and cause.non_retryable
    assert expected in cause.message


async def test_retryable_error_is_retried_per_registered_policy(
    temporal_client: Client, task_queue: str
) -> None:
    key = f"flaky-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        job = await dispatch(flaky, Flaky(key=key, fail_times=2), task_queue=task_queue)
        assert await job.result() == 3
    assert ATTEMPTS[key] == 3
    history = await job.handle.fetch_history()
    scheduled = [
        e.activity_task_scheduled_event_attributes
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert len(scheduled) == 1
    policy = scheduled[0].retry_policy
    assert policy.maximum_attempts == 5
    assert policy.initial_interval.ToMilliseconds() == 100
    assert list(policy.non_retryable_error_types) == ["PermanentError"]
    started = [e for e in history.events if e.HasField("activity_task_started_event_attributes")]
    assert started[0].activity_task_started_event_attributes.attempt == 3
    assert "transient failure 2" in (
        started[0].activity_task_started_event_attributes.last_failure.message
    )


async def test_retries_stop_at_maximum_attempts(temporal_client: Client, task_queue: str) -> None:
    key = f"flaky-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        job = await dispatch(flaky, Flaky(key=key, fail_times=99), task_queue=task_queue)
        with pytest.raises(JobFailedError):
            await job.result()
    assert ATTEMPTS[key] == 5


async def test_non_retryable_error_is_not_retried(temporal_client: Client, task_queue: str) -> None:
    key = f"permanent-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[permanent]):
        job = await dispatch(permanent, key, task_queue=task_queue)
        with pytest.raises(JobFailedError):
            await job.result()
    assert ATTEMPTS[key] == 1


async def test_per_call_override_changes_only_that_call(
    temporal_client: Client, task_queue: str
) -> None:
    key = f"flaky-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        job = await dispatch(
            flaky,
            Flaky(key=key, fail_times=5),
            task_queue=task_queue,
            options={"maximum_attempts": 2},
        )
        with pytest.raises(JobFailedError):
            await job.result()
    assert ATTEMPTS[key] == 2
    assert activities.get("flaky").retry_policy.maximum_attempts == 5


async def test_the_temporal_cli_can_start_it_with_json(
    temporal_server: DevServer, temporal_client: Client, task_queue: str
) -> None:
    workflow_id = f"cli-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue):
        cli = await asyncio.create_subprocess_exec(
            str(temporal_binary()),
            "workflow",
            "execute",
            "--address",
            temporal_server.address,
            "--type",
            "SingleActivityWorkflow",
            "--task-queue",
            task_queue,
            "--workflow-id",
            workflow_id,
            "--input",
            json.dumps({"activity": "lanes.ping", "input": {"echo": "from the cli"}}),
            "--output",
            "json",
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(cli.communicate(), 30)
    assert cli.returncode == 0, err.decode()
    result = await temporal_client.get_workflow_handle(workflow_id).result()
    assert result["echo"] == "from the cli"
    assert result["task_queue"] == task_queue
