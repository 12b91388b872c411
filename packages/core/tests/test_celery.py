"""The Celery shim (core.celery) against the real dev server: the calls a migrated site makes."""

import uuid
from datetime import UTC, datetime, timedelta

import pydantic
import pytest
from temporalio.client import Client

from core.celery import AsyncResult, task
from core.dev.testing import running_worker
from core.dispatch import DispatchError


class Pair(pydantic.BaseModel):
    a: int
    b: int


@task(queue="celery-test", priority=2)
async def add(input: Pair) -> int:
    return input.a + input.b


async def test_delay_and_get(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[add.fn]):
        result = await add.apply_async(kwargs={"a": 1, "b": 2}, queue=task_queue)
        assert await result.get(timeout=20) == 3
        assert await result.ready() and await result.successful()
        assert await result.status == "SUCCESS"


async def test_apply_async_with_countdown_task_id_and_a_duplicate(
    temporal_client: Client, task_queue: str
) -> None:
    task_id = f"celery-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[add.fn]):
        first = await add.apply_async(
            [Pair(a=2, b=3)], countdown=1, task_id=task_id, queue=task_queue
        )
        assert first.id == task_id
        assert await first.status == "PENDING"
        assert not await first.ready()
        again = await add.apply_async([Pair(a=2, b=3)], task_id=task_id, queue=task_queue)
        assert await again.get(timeout=20) == 5
        # Celery's AsyncResult(task_id) from anywhere: the typed result of the same job.
        assert await add.AsyncResult(task_id).get(timeout=5) == 5
    assert (await temporal_client.count_activities(f"ActivityId = '{task_id}'")).count == 1


async def test_eta_and_revoke(temporal_client: Client, task_queue: str) -> None:
    eta = datetime.now(UTC) + timedelta(minutes=10)
    async with running_worker(temporal_client, task_queue=task_queue, activities=[add.fn]):
        result = await add.apply_async(kwargs={"a": 1, "b": 1}, eta=eta, queue=task_queue)
        assert await result.status == "PENDING"
        await result.revoke()
        assert await result.status == "REVOKED"
        assert await AsyncResult(result.id).ready()
        # get(timeout=) gives up waiting; the job itself stays queued.
        later = await add.apply_async(kwargs={"a": 1, "b": 1}, countdown=60, queue=task_queue)
        with pytest.raises(TimeoutError):
            await later.get(timeout=0.5)
        assert await later.status == "PENDING"
        await later.revoke(terminate=True)
        assert await later.status == "REVOKED"


async def test_calls_celery_allowed_that_lanes_refuses(temporal_client: Client) -> None:
    with pytest.raises(DispatchError, match="takes one input"):
        await add.delay(Pair(a=1, b=1), Pair(a=2, b=2))
    with pytest.raises(DispatchError, match="timezone-aware"):
        await add.apply_async(kwargs={"a": 1, "b": 1}, eta=datetime.now(UTC).replace(tzinfo=None))
    with pytest.raises(DispatchError, match=r"priority .* 1 \(first\) to 5"):
        await add.apply_async(kwargs={"a": 1, "b": 1}, priority=9, queue="q")
    with pytest.raises(DispatchError, match="invalid input"):
        await add.delay(a="x", b=1)
    # Calling the task itself runs the function here, as in Celery.
    assert await add(Pair(a=4, b=5)) == 9  # type: ignore[misc]
