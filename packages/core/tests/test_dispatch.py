"""dispatch() against the real dev server: by name and by function, idempotency, bad input."""

import asyncio
import uuid
from datetime import timedelta

import pydantic
import pytest
from temporalio.client import Client, WorkflowExecutionStatus, WorkflowFailureError
from temporalio.exceptions import ActivityError, ApplicationError

from core import activities
from core.dev.testing import running_worker
from core.dispatch import DispatchError, dispatch, dispatch_and_wait
from core.ping import PingResult


class Order(pydantic.BaseModel):
    order_id: str
    amount: int = pydantic.Field(gt=0)


class Receipt(pydantic.BaseModel):
    order_id: str
    charged: int


RELEASE: dict[str, asyncio.Event] = {}


@activities.defn(queue="dispatch-test")
async def charge_order(input: Order) -> Receipt:
    return Receipt(order_id=input.order_id, charged=input.amount)


@activities.defn(queue="dispatch-test")
async def wait_for_release(input: str) -> str:
    await RELEASE[input].wait()
    return input


async def test_dispatch_by_function_returns_a_typed_result(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[charge_order]):
        job = await dispatch(charge_order, Order(order_id="o-1", amount=42), task_queue=task_queue)
        assert job.started and job.task_queue == task_queue
        assert await job.result() == Receipt(order_id="o-1", charged=42)


async def test_dispatch_by_name_with_json_input(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[charge_order]):
        result = await dispatch_and_wait(
            "charge_order", {"order_id": "o-2", "amount": 7}, task_queue=task_queue
        )
        assert result == Receipt(order_id="o-2", charged=7)


async def test_ping_answers_on_any_queue(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, task_queue=task_queue):
        result = await dispatch_and_wait("lanes.ping", task_queue=task_queue)
        assert isinstance(result, PingResult)
        assert result.task_queue == task_queue


async def test_duplicate_id_while_running_starts_nothing(
    temporal_client: Client, task_queue: str
) -> None:
    key = f"release-{uuid.uuid4()}"
    RELEASE[key] = asyncio.Event()
    workflow_id = f"dup-running-{uuid.uuid4()}"
    async with running_worker(
        temporal_client, task_queue=task_queue, activities=[wait_for_release]
    ):
        first = await dispatch(wait_for_release, key, task_queue=task_queue, id=workflow_id)
        second = await dispatch(wait_for_release, key, task_queue=task_queue, id=workflow_id)
        assert first.started and not second.started and second.duplicate
        assert second.run_id == first.run_id
        RELEASE[key].set()
        assert await second.result() == key
    runs = [w async for w in temporal_client.list_workflows(f"WorkflowId = '{workflow_id}'")]
    assert len(runs) == 1


async def test_duplicate_id_after_completion_starts_nothing(
    temporal_client: Client, task_queue: str
) -> None:
    workflow_id = f"dup-done-{uuid.uuid4()}"
    order = Order(order_id="o-3", amount=5)
    async with running_worker(temporal_client, task_queue=task_queue, activities=[charge_order]):
        first = await dispatch(charge_order, order, task_queue=task_queue, id=workflow_id)
        await first.result()
        again = await dispatch(charge_order, order, task_queue=task_queue, id=workflow_id)
        assert not again.started
        assert again.run_id == first.run_id
        assert await again.result() == Receipt(order_id="o-3", charged=5)
    described = await temporal_client.get_workflow_handle(workflow_id).describe()
    assert described.status == WorkflowExecutionStatus.COMPLETED


async def test_bad_input_is_refused_before_anything_starts(temporal_client: Client) -> None:
    with pytest.raises(DispatchError, match=r"invalid input for activity 'charge_order'.*amount"):
        await dispatch(charge_order, {"order_id": "x", "amount": -1}, client=temporal_client)
    with pytest.raises(DispatchError, match="not registered in this process; pass task_queue="):
        await dispatch("no_such_activity", client=temporal_client)
    with pytest.raises(DispatchError, match="served on every queue; pass task_queue="):
        await dispatch("lanes.ping", client=temporal_client)

    async def not_registered() -> None: ...

    with pytest.raises(DispatchError, match="is not a registered activity"):
        await dispatch(not_registered, client=temporal_client)


async def test_start_delay_holds_the_job_back(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, task_queue=task_queue):
        job = await dispatch("lanes.ping", task_queue=task_queue, start_delay=timedelta(seconds=2))
        await asyncio.sleep(0.5)
        described = await job.handle.describe()
        assert described.status == WorkflowExecutionStatus.RUNNING
        history = await job.handle.fetch_history()
        assert not any(
            e.HasField("activity_task_scheduled_event_attributes") for e in history.events
        )
        result = await asyncio.wait_for(job.result(), 15)
        assert result.task_queue == task_queue


async def test_a_failed_job_reports_the_activity_error(
    temporal_client: Client, task_queue: str
) -> None:
    @activities.defn(name="dispatch.always_fails", queue="dispatch-test")
    async def always_fails() -> None:
        raise ApplicationError("card declined", type="CardDeclined", non_retryable=True)

    async with running_worker(temporal_client, task_queue=task_queue, activities=[always_fails]):
        job = await dispatch(always_fails, task_queue=task_queue)
        with pytest.raises(WorkflowFailureError) as caught:
            await job.result()
    assert isinstance(caught.value.cause, ActivityError)
    assert isinstance(caught.value.cause.cause, ApplicationError)
    assert caught.value.cause.cause.type == "CardDeclined"


async def test_same_id_after_a_failure_runs_again(temporal_client: Client, task_queue: str) -> None:
    failed_id = f"dup-failed-{uuid.uuid4()}"

    @activities.defn(name="dispatch.fails_once", queue="dispatch-test")
    async def fails_once(input: str) -> str:
        if input == "boom":
            raise ApplicationError("boom", non_retryable=True)
        return input

    async with running_worker(temporal_client, task_queue=task_queue, activities=[fails_once]):
        failed = await dispatch(fails_once, "boom", task_queue=task_queue, id=failed_id)
        with pytest.raises(WorkflowFailureError):
            await failed.result()
        # A job that failed may be dispatched again under the same id: that is a retry.
        retried = await dispatch(fails_once, "ok", task_queue=task_queue, id=failed_id)
        assert retried.started and retried.run_id != failed.run_id
        assert await retried.result() == "ok"
