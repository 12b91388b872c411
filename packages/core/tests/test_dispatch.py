"""dispatch() against the real dev server, on both job engines where they overlap.

``activity`` is the default engine (a Temporal Standalone Activity per job); ``workflow`` is
``LANES_DISPATCH_MODE=workflow`` (a ``SingleActivityWorkflow`` per job, the path schedules take).
"""

import asyncio
import dataclasses
import math
import time
import uuid
from collections.abc import Iterator, Sequence
from datetime import timedelta
from typing import Any, Self

import pydantic
import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import ActivityExecutionStatus, ActivityHandle, Client
from temporalio.common import RawValue
from temporalio.converter import SerializationContext
from temporalio.exceptions import ApplicationError

from core import activities
from core.codec import PayloadConverter
from core.dev.testing import running_worker
from core.dispatch import (
    DispatchError,
    JobFailedError,
    dispatch,
    dispatch_and_wait,
    dispatch_mode,
)
from core.ping import PingResult
from core.settings import settings


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


@activities.defn(name="dispatch.defaulted", queue="dispatch-test")
async def defaulted(input: int = 5) -> int:
    return input * 2


@activities.defn(name="dispatch.fails_on_boom", queue="dispatch-test")
async def fails_on_boom(input: str) -> str:
    if input == "boom":
        raise ApplicationError("card declined", type="CardDeclined", non_retryable=True)
    return input


@pytest.fixture(params=["activity", "workflow"])
def mode(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Run the test on each job engine."""
    monkeypatch.setenv("LANES_DISPATCH_MODE", request.param)
    settings.cache_clear()
    assert dispatch_mode() == request.param
    yield request.param
    settings.cache_clear()


async def runs_of(client: Client, mode: str, job_id: str) -> int:
    """How many runs the server holds for ``job_id``.

    Visibility lags the executions by a moment: a run that just finished may not be counted yet,
    so zero is asked again for a few seconds (a duplicate run would show as a second one)."""
    deadline = time.monotonic() + 10
    while True:
        if mode == "activity":
            count = (await client.count_activities(f"ActivityId = '{job_id}'")).count
        else:
            count = len([w async for w in client.list_workflows(f"WorkflowId = '{job_id}'")])
        if count or time.monotonic() > deadline:
            return count
        await asyncio.sleep(0.1)


async def test_dispatch_by_function_returns_a_typed_result(
    temporal_client: Client, task_queue: str, mode: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[charge_order]):
        job = await dispatch(charge_order, Order(order_id="o-1", amount=42), task_queue=task_queue)
        assert job.started and job.task_queue == task_queue and job.mode == mode
        assert await job.result() == Receipt(order_id="o-1", charged=42)


async def test_dispatch_by_name_with_json_input(
    temporal_client: Client, task_queue: str, mode: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[charge_order]):
        result = await dispatch_and_wait(
            "charge_order", {"order_id": "o-2", "amount": 7}, task_queue=task_queue
        )
        assert result == Receipt(order_id="o-2", charged=7)


async def test_an_input_left_out_is_the_activity_default(
    temporal_client: Client, task_queue: str, mode: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[defaulted]):
        left_out = dispatch_and_wait(defaulted, task_queue=task_queue)
        assert await asyncio.wait_for(left_out, 20) == 10
        given = dispatch_and_wait(defaulted, 4, task_queue=task_queue)
        assert await asyncio.wait_for(given, 20) == 8


async def test_a_standalone_job_is_an_activity_without_a_workflow(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue):
        job = await dispatch("lanes.ping", task_queue=task_queue, summary="canary")
        result = await job.result()
    assert isinstance(result, PingResult) and result.task_queue == task_queue
    assert isinstance(job.handle, ActivityHandle)
    described = await job.handle.describe()
    assert described.activity_type == "lanes.ping"
    assert described.status == ActivityExecutionStatus.COMPLETED
    assert described.start_to_close_timeout == timedelta(seconds=30)  # lanes.ping's declaration
    assert [w async for w in temporal_client.list_workflows(f"WorkflowId = '{job.id}'")] == []


async def test_duplicate_id_while_running_starts_nothing(
    temporal_client: Client, task_queue: str, mode: str
) -> None:
    key = f"release-{uuid.uuid4()}"
    RELEASE[key] = asyncio.Event()
    job_id = f"dup-running-{uuid.uuid4()}"
    async with running_worker(
        temporal_client, task_queue=task_queue, activities=[wait_for_release]
    ):
        first = await dispatch(wait_for_release, key, task_queue=task_queue, id=job_id)
        second = await dispatch(wait_for_release, key, task_queue=task_queue, id=job_id)
        assert first.started and not second.started and second.duplicate
        assert second.run_id == first.run_id
        RELEASE[key].set()
        assert await second.result() == key
    assert await runs_of(temporal_client, mode, job_id) == 1


async def test_duplicate_id_after_success_starts_nothing(
    temporal_client: Client, task_queue: str, mode: str
) -> None:
    job_id = f"dup-done-{uuid.uuid4()}"
    order = Order(order_id="o-3", amount=5)
    async with running_worker(temporal_client, task_queue=task_queue, activities=[charge_order]):
        first = await dispatch(charge_order, order, task_queue=task_queue, id=job_id)
        await first.result()
        again = await dispatch(charge_order, order, task_queue=task_queue, id=job_id)
        assert not again.started
        assert again.run_id == first.run_id
        assert await again.result() == Receipt(order_id="o-3", charged=5)
    assert await runs_of(temporal_client, mode, job_id) == 1


async def test_a_failed_job_reports_the_activity_error_and_may_run_again(
    temporal_client: Client, task_queue: str, mode: str
) -> None:
    job_id = f"dup-failed-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[fails_on_boom]):
        failed = await dispatch(fails_on_boom, "boom", task_queue=task_queue, id=job_id)
        with pytest.raises(JobFailedError) as caught:
            await failed.result()
        assert isinstance(caught.value.cause, ApplicationError)
        assert caught.value.cause.type == "CardDeclined"
        assert "card declined" in str(caught.value)
        # A job that failed may be dispatched again under the same id: that is a retry.
        retried = await dispatch(fails_on_boom, "ok", task_queue=task_queue, id=job_id)
        assert retried.started and retried.run_id != failed.run_id
        assert await retried.result() == "ok"
        # Unless the caller forbids it.
        refused = await dispatch(
            fails_on_boom, "ok", task_queue=task_queue, id=job_id, rerun_failed=False
        )
        assert not refused.started


async def test_start_delay_holds_the_job_back(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, task_queue=task_queue):
        job = await dispatch("lanes.ping", task_queue=task_queue, start_delay=2)
        await asyncio.sleep(0.5)
        assert isinstance(job.handle, ActivityHandle)
        described = await job.handle.describe()
        assert described.status == ActivityExecutionStatus.RUNNING
        assert described.attempt <= 1 and described.last_started_time is None
        assert described.start_delay == timedelta(seconds=2)
        result = await asyncio.wait_for(job.result(), 15)
        assert result.task_queue == task_queue
        assert (await job.handle.describe()).status == ActivityExecutionStatus.COMPLETED


async def test_an_unknown_name_fails_within_seconds_naming_what_the_worker_serves(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[charge_order]):
        started = time.monotonic()
        job = await dispatch("chrage_order", {"order_id": "x"}, task_queue=task_queue)
        with pytest.raises(JobFailedError) as caught:
            await asyncio.wait_for(job.result(), 40)
        took = time.monotonic() - started
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "UnknownActivity"
    assert "'chrage_order'" in cause.message
    assert "charge_order, lanes.ping" in cause.message
    assert isinstance(job.handle, ActivityHandle)
    # Retried briefly (another worker version may serve it), then failed for good.
    assert (await job.handle.describe()).attempt >= 3
    assert took < 30, took  # the ten-second window, not the five-minute start-to-close timeout


@pytest.mark.parametrize(
    ("activity", "kwargs", "message"),
    [
        (charge_order, {"input": {"order_id": "x", "amount": -1}}, "invalid input.*amount"),
        ("no_such_activity", {}, "not registered in this process; pass task_queue="),
        ("chrage_order", {}, r"not registered in this process \(did you mean 'charge_order'\?\)"),
        ("lanes.ping", {}, "served on every queue; pass task_queue="),
        (
            charge_order,
            {"options": {"retry_policy": "nosuchpolicy"}},
            "invalid options for 'charge_order'.*nosuchpolicy",
        ),
        (charge_order, {"options": {"start_to_close_timeout": -5}}, "must be a positive"),
        (charge_order, {"options": {"heartbeat_timeout": 400}}, "heartbeat_timeout.*shorter"),
        (charge_order, {"options": {"bogus": 1}}, "bogus: Extra inputs are not permitted"),
        (charge_order, {"start_delay": math.nan}, "start_delay.*finite"),
        (charge_order, {"start_delay": -1}, "start_delay.*between 0"),
        (charge_order, {"start_delay": timedelta(days=40000)}, "start_delay.*between 0"),
        (charge_order, {"task_queue": "sync"}, "runs on task queue 'dispatch-test'.*'sync'"),
        (charge_order, {"priority": 9}, "priority .* 1 \\(first\\) to 5"),
        (charge_order, {"fairness_key": "x" * 65}, "fairness_key .* 1 to 64 bytes"),
        ("lanes.ping", {"task_queue": "q", "id": "  "}, "blank"),
    ],
)
async def test_bad_calls_are_refused_before_anything_starts(
    temporal_client: Client, activity: Any, kwargs: dict[str, Any], message: str
) -> None:
    kwargs.setdefault("input", {"order_id": "x", "amount": 1})
    if activity in ("lanes.ping", "no_such_activity", "chrage_order"):
        kwargs.pop("input")
    with pytest.raises(DispatchError, match=message):
        await dispatch(activity, client=temporal_client, **kwargs)


async def test_an_unregistered_function_is_refused(temporal_client: Client) -> None:
    async def not_registered() -> None: ...

    with pytest.raises(DispatchError, match="is not a registered activity"):
        await dispatch(not_registered, client=temporal_client)


async def test_an_input_over_the_payload_limit_is_refused_naming_size_and_limit(
    temporal_client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    big = {"echo": "x" * (2 * 1024 * 1024)}
    with pytest.raises(DispatchError, match=r"2,097,16\d bytes, over .* limit of 2,097,152"):
        await dispatch("lanes.ping", big, task_queue=task_queue, client=temporal_client)
    monkeypatch.setenv("LANES_PAYLOAD_LIMIT", "1000")
    settings.cache_clear()
    try:
        with pytest.raises(DispatchError, match="limit of 1,000 bytes"):
            await dispatch(
                "lanes.ping", {"echo": "y" * 2000}, task_queue=task_queue, client=temporal_client
            )
    finally:
        settings.cache_clear()


@activities.defn(name="dispatch.ordered", queue="dispatch-test", priority=2, fairness_key="t-1")
async def ordered() -> None: ...


async def test_declared_priority_and_fairness_key_reach_the_server_and_a_call_overrides_them(
    temporal_client: Client, task_queue: str
) -> None:
    declared = await dispatch(ordered, task_queue=task_queue, client=temporal_client)
    overridden = await dispatch(
        ordered, task_queue=task_queue, priority=5, fairness_key="t-2", client=temporal_client
    )
    for job, (level, key) in ((declared, (2, "t-1")), (overridden, (5, "t-2"))):
        assert isinstance(job.handle, ActivityHandle)
        described = await job.handle.describe()
        assert (described.priority.priority_key, described.priority.fairness_key) == (level, key)
        await job.handle.terminate(reason="only described")


async def test_per_call_options_change_their_own_job_only(
    temporal_client: Client, task_queue: str
) -> None:
    order = Order(order_id="o-opts", amount=1)
    # No worker: the jobs wait on the queue, and the server describes what each was started with.
    plain = await dispatch(charge_order, order, task_queue=task_queue)
    custom = await dispatch(
        charge_order,
        order,
        task_queue=task_queue,
        options={"start_to_close_timeout": 7, "maximum_attempts": 2},
    )
    plain_again = await dispatch(charge_order, order, task_queue=task_queue)
    expected = [(timedelta(minutes=5), 4), (timedelta(seconds=7), 2), (timedelta(minutes=5), 4)]
    for job, (limit, attempts) in zip((plain, custom, plain_again), expected, strict=True):
        assert isinstance(job.handle, ActivityHandle)
        described = await job.handle.describe()
        assert described.start_to_close_timeout == limit
        assert described.retry_policy is not None
        assert described.retry_policy.maximum_attempts == attempts
        await job.handle.terminate(reason="only described")


ENCODED: list[tuple[str | None, Any]] = []


class JobAwareConverter(PayloadConverter):
    """A converter whose output may depend on the job it encodes for: it records each value it
    serialises with the job it was told about."""

    def __init__(self, job_id: str | None = None) -> None:
        super().__init__()
        self.job_id = job_id

    def with_context(self, context: SerializationContext) -> Self:
        return type(self)(getattr(context, "activity_id", None))

    def to_payloads(self, values: Sequence[Any]) -> list[Payload]:
        ENCODED.extend((self.job_id, v) for v in values if not isinstance(v, RawValue))
        return super().to_payloads(values)


async def test_a_client_whose_converter_depends_on_the_job_encodes_the_input_for_that_job(
    temporal_client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    converter = dataclasses.replace(
        temporal_client.data_converter, payload_converter_class=JobAwareConverter
    )
    client = Client(
        temporal_client.service_client,
        namespace=temporal_client.namespace,
        data_converter=converter,
    )
    async with running_worker(client, task_queue=task_queue, activities=[charge_order]):
        job = await dispatch(
            charge_order, Order(order_id="o-ctx", amount=3), task_queue=task_queue, client=client
        )
        assert await job.result() == Receipt(order_id="o-ctx", charged=3)
    # Serialised by the SDK with the job's context, not beforehand without it.
    assert (job.id, {"order_id": "o-ctx", "amount": 3}) in ENCODED
    monkeypatch.setenv("LANES_PAYLOAD_LIMIT", "100")
    settings.cache_clear()
    try:
        with pytest.raises(DispatchError, match="over the server's payload limit of 100 bytes"):
            await dispatch(
                charge_order,
                Order(order_id="x" * 200, amount=1),
                task_queue=task_queue,
                client=client,
            )
    finally:
        settings.cache_clear()
