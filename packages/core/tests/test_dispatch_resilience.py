"""dispatch() against servers that are restarting, lacking standalone activities, or busy
with thousands of result waits; and a result over the payload limit."""

import asyncio
import logging
import uuid
from collections.abc import AsyncIterator

import pydantic
import pytest
import pytest_asyncio
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

import core.dispatch
from core import activities, jobs
from core.client import connect, reset_client
from core.dev.server import DevServer, free_port
from core.dev.testing import running_worker
from core.dispatch import JobFailedError, dispatch, dispatch_and_wait
from core.ping import PingResult
from core.settings import settings

HOLD: dict[str, asyncio.Event] = {}


@activities.defn(name="resilience_test.hold", queue="resilience-test")
async def hold(key: str) -> str:
    await HOLD[key].wait()
    return key


class Blob(pydantic.BaseModel):
    data: str


@activities.defn(name="resilience_test.big_result", queue="resilience-test")
async def big_result(size: int) -> Blob:
    return Blob(data="x" * size)


@pytest_asyncio.fixture
async def own_env() -> AsyncIterator[None]:
    """Let a test point the process's cached client at a server of its own."""
    reset_client()
    yield
    reset_client()
    core.dispatch._fallback = None  # what a server without standalone activities switched


async def test_a_server_restart_is_a_delay_not_an_error(
    own_env: None, monkeypatch: pytest.MonkeyPatch, task_queue: str
) -> None:
    port = free_port()
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{port}")
    server = DevServer(port=port, ui_port=None)
    await server.start()
    try:
        first = await dispatch("lanes.ping", task_queue=task_queue)  # connects the cached client
        assert first.started
        await server.stop()

        async def restart_soon() -> None:
            await asyncio.sleep(2)
            await server.start()

        restarting = asyncio.create_task(restart_soon())
        job_id = f"restart-{uuid.uuid4()}"
        job = await dispatch("lanes.ping", task_queue=task_queue, id=job_id, connect_timeout=60)
        await restarting
        assert job.started and job.id == job_id
        client = await connect(target_host=server.address)
        async with running_worker(client, task_queue=task_queue):
            assert isinstance(await asyncio.wait_for(job.result(), 30), PingResult)
        assert (await client.count_activities(f"ActivityId = '{job_id}'")).count == 1
    finally:
        await server.stop()


async def test_without_a_retry_window_an_unreachable_server_fails_at_once(
    own_env: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", f"127.0.0.1:{free_port()}")
    with pytest.raises(core.client.TemporalUnavailable, match="cannot reach Temporal"):
        await dispatch("lanes.ping", task_queue="q", connect_timeout=0)


async def test_a_server_without_standalone_activities_switches_to_workflows_once(
    own_env: None, caplog: pytest.LogCaptureFixture, task_queue: str
) -> None:
    server = DevServer(
        ui_port=None, extra_args=("--dynamic-config-value", "activity.enableStandalone=false")
    )
    await server.start()
    try:
        client = await connect(target_host=server.address)
        async with running_worker(client, task_queue=task_queue):
            with caplog.at_level(logging.WARNING, logger="lanes.dispatch"):
                first = await dispatch("lanes.ping", task_queue=task_queue, client=client)
                second = await dispatch("lanes.ping", task_queue=task_queue, client=client)
            assert (first.mode, second.mode) == ("workflow", "workflow")
            assert core.dispatch.dispatch_mode() == "workflow"
            assert isinstance(await first.result(), PingResult)
            assert isinstance(await second.result(), PingResult)
            status = await jobs.status(first.id, client=client)
            assert status.state == "completed"
        said = [r for r in caplog.records if "does not run standalone activities" in r.message]
        assert len(said) == 1
    finally:
        await server.stop()


@pytest.mark.parametrize("mode", ["activity", "workflow"])
async def test_two_thousand_result_waits_at_once(
    temporal_client: Client, task_queue: str, mode: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_DISPATCH_MODE", mode)
    settings.cache_clear()
    key = f"hold-{uuid.uuid4()}"
    HOLD[key] = asyncio.Event()
    async with running_worker(temporal_client, task_queue=task_queue, activities=[hold]):
        held = [
            await dispatch(hold, key, task_queue=task_queue, client=temporal_client)
            for _ in range(20)
        ]
        # 2,000 callers each waiting on a job (100 per job): more long polls than the server
        # allows a namespace (~1,200) if every wait polled at once.
        waits = [asyncio.create_task(job.result()) for job in held for _ in range(100)]
        # Held long enough for the SDK's own retries of refused polls to run out: unbounded,
        # hundreds of these waits fail with "namespace concurrent poller limit exceeded".
        await asyncio.sleep(15)
        HOLD[key].set()
        results = await asyncio.wait_for(asyncio.gather(*waits, return_exceptions=True), 120)
    settings.cache_clear()
    errors = [r for r in results if isinstance(r, BaseException)]
    assert errors == []
    assert results == [key] * 2000


async def test_a_result_over_the_payload_limit_fails_the_job_at_once(
    temporal_client: Client, task_queue: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LANES_PAYLOAD_LIMIT", "1000")
    settings.cache_clear()
    try:
        async with running_worker(temporal_client, task_queue=task_queue, activities=[big_result]):
            assert await dispatch_and_wait(big_result, 10, task_queue=task_queue) == Blob(
                data="x" * 10
            )
            job = await dispatch(big_result, 5000, task_queue=task_queue)
            with pytest.raises(JobFailedError) as caught:
                await asyncio.wait_for(job.result(), 20)
    finally:
        settings.cache_clear()
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "PayloadTooLarge"
    assert "is 5,011 bytes, over the payload limit of 1,000 bytes" in cause.message
    assert (await jobs.status(job.id, client=temporal_client)).attempt == 1
