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
from temporalio.exceptions import ApplicationError

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


async def start_raw(client: Client, task_queue: str, body: dict[str, object]) -> object:
    """Start the workflow the way the UI or another SDK would: plain JSON, no Lanes code."""
    return await client.execute_workflow(
        "SingleActivityWorkflow",
        body,
        id=f"raw-{uuid.uuid4()}",
        task_queue=task_queue,
        execution_timeout=timedelta(seconds=30),
    )


async def test_unknown_activity_fails_at_once_naming_the_known_ones(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(
                start_raw(temporal_client, task_queue, {"activity": "flakey", "input": None}), 10
            )
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == "UnknownActivity" and cause.non_retryable
    assert "unknown activity 'flakey'" in cause.message
    assert "flaky, lanes.ping" in cause.message


async def test_registered_elsewhere_is_unknown_here(
    temporal_client: Client, task_queue: str
) -> None:
    # `permanent` is in this process's registry but this worker does not run it: failing fast
    # beats an activity task that nobody will ever pick up.
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(
                start_raw(temporal_client, task_queue, {"activity": "permanent", "input": "x"}), 10
            )
    assert isinstance(caught.value.cause, ApplicationError)
    assert caught.value.cause.type == "UnknownActivity"


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ({"activity": "flaky", "input": {"key": "k"}}, "InvalidInput"),
        ({"activity": "flaky", "input": {"key": "k", "fail_times": 0}, "typo": 1}, None),
        ({"activity": "flaky", "options": {"maximum_attempts": -1}}, None),
    ],
)
async def test_malformed_start_input_fails_instead_of_hanging(
    temporal_client: Client, task_queue: str, body: dict[str, object], expected: str | None
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[flaky]):
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(start_raw(temporal_client, task_queue, body), 10)
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError)
    if expected:
        assert cause.type == expected and "fail_times" in cause.message
    else:
        # pydantic.ValidationError is a workflow failure type: the run fails, it is not retried.
        assert cause.type == "ValidationError"


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
