"""Scheduled runs: the activity's registered config applies, and workers sync on start."""

from __future__ import annotations

import asyncio
import logging
import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path
from typing import Any

import pydantic
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowHandle
from temporalio.common import RetryPolicy

from core import activities
from core.dev.testing import running_worker
from core.domains import Domain
from core.schedules import Schedule, describe_or_none, owner_of, sync_schedules
from core.worker import serve

# An unusual policy, so the history can only show it if it came from this registration.
PROBE_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=7),
    backoff_coefficient=3.5,
    maximum_interval=timedelta(seconds=77),
    maximum_attempts=9,
    non_retryable_error_types=["ProbeRefused"],
)


class ProbeInput(pydantic.BaseModel):
    label: str


async def first_run(
    client: Client, schedule_id: str, timeout: float = 15
) -> WorkflowHandle[Any, Any]:
    """The workflow the schedule started most recently, once there is one."""
    handle = client.get_schedule_handle(schedule_id)
    async with asyncio.timeout(timeout):
        while True:
            recent = (await handle.describe()).info.recent_actions
            if recent:
                started = recent[-1].action
                return client.get_workflow_handle(
                    started.workflow_id,  # type: ignore[attr-defined]
                    run_id=started.first_execution_run_id,  # type: ignore[attr-defined]
                )
            await asyncio.sleep(0.1)


async def test_triggered_activity_schedule_runs_with_the_registered_retry_policy(
    temporal_client: Client, task_queue: str
) -> None:
    @activities.defn(
        name=f"probe-{uuid.uuid4().hex[:8]}",
        queue=task_queue,
        retry=PROBE_RETRY,
        start_to_close=timedelta(seconds=42),
    )
    async def probe(input: ProbeInput) -> str:
        return f"probed {input.label}"

    owner = f"test-{uuid.uuid4().hex[:8]}"
    schedule = Schedule(
        id=f"{owner}.probe",
        target=probe,
        input={"label": "nightly"},
        cron="0 0 1 1 *",  # once a year: only the trigger below runs it during the test
    )
    await sync_schedules(temporal_client, [schedule], owner=owner)

    async with running_worker(temporal_client, task_queue=task_queue, activities=[probe]):
        await temporal_client.get_schedule_handle(schedule.id).trigger()
        run = await first_run(temporal_client, schedule.id)
        assert await asyncio.wait_for(run.result(), 15) == "probed nightly"

    scheduled = [
        e.activity_task_scheduled_event_attributes
        async for e in run.fetch_history_events()
        if e.event_type == EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED
    ]
    assert len(scheduled) == 1
    assert RetryPolicy.from_proto(scheduled[0].retry_policy) == PROBE_RETRY
    assert scheduled[0].start_to_close_timeout.ToTimedelta() == timedelta(seconds=42)
    assert scheduled[0].task_queue.name == task_queue
    await temporal_client.get_schedule_handle(schedule.id).delete()


async def test_operations_heartbeat_pings_the_operations_lane(temporal_client: Client) -> None:
    from operations.schedules import SCHEDULES

    # This session's server is private to this test run, so the real id and queue are safe here.
    # The heartbeat alone: the domain's other schedules would start real work on this server.
    heartbeat_only = [s for s in SCHEDULES if s.id == "operations.heartbeat"]
    summary = await sync_schedules(temporal_client, heartbeat_only, owner="operations")
    try:
        assert summary.created == ["operations.heartbeat"]
        async with running_worker(temporal_client, task_queue="operations"):
            await temporal_client.get_schedule_handle("operations.heartbeat").trigger()
            run = await first_run(temporal_client, "operations.heartbeat")
            result = await asyncio.wait_for(run.result(), 15)
        assert result["task_queue"] == "operations"
    finally:
        heartbeat = temporal_client.get_schedule_handle("operations.heartbeat")
        if await describe_or_none(heartbeat) is not None:
            await heartbeat.delete()


def write_domain_package(root: Path, name: str, schedules_source: str) -> None:
    package = root / name
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "schedules.py").write_text(textwrap.dedent(schedules_source))


async def serve_until_ready(
    client: Client, domain: Domain
) -> tuple[asyncio.Event, asyncio.Task[None]]:
    ready, stop = asyncio.Event(), asyncio.Event()
    task = asyncio.create_task(
        serve(
            [domain],
            client=client,
            stop=stop,
            install_signal_handlers=False,
            health=False,
            on_ready=lambda _: ready.set(),
        )
    )
    await asyncio.wait_for(ready.wait(), 15)
    return stop, task


async def test_worker_start_syncs_its_domains_schedules(
    temporal_client: Client, task_queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = f"test-{uuid.uuid4().hex[:8]}"
    package = f"domain_{owner.replace('-', '_')}"
    write_domain_package(
        tmp_path,
        package,
        f"""
        from datetime import timedelta
        from core.schedules import Schedule
        SCHEDULES = [
            Schedule(id="{owner}.tick", target="lanes.ping", task_queue="{task_queue}",
                     cron="0 0 1 1 *"),
        ]
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    stop, task = await serve_until_ready(temporal_client, Domain(owner, package, task_queue))
    try:
        description = await temporal_client.get_schedule_handle(f"{owner}.tick").describe()
        assert await owner_of(description) == owner
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    await temporal_client.get_schedule_handle(f"{owner}.tick").delete()


async def test_a_bad_schedule_is_logged_and_the_worker_still_serves(
    temporal_client: Client,
    task_queue: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    owner = f"test-{uuid.uuid4().hex[:8]}"
    package = f"domain_{owner.replace('-', '_')}"
    write_domain_package(
        tmp_path,
        package,
        """
        from datetime import timedelta
        from core.schedules import Schedule
        SCHEDULES = [Schedule(id="bad.tick", target="no_such_activity", every=timedelta(hours=1))]
        """,
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, f"{package}.schedules", raising=False)
    caplog.set_level(logging.INFO, logger="lanes.schedules")

    stop, task = await serve_until_ready(temporal_client, Domain(owner, package, task_queue))
    try:
        job = await temporal_client.execute_workflow(
            "SingleActivityWorkflow",
            {"activity": "lanes.ping"},
            id=f"ping-{uuid.uuid4()}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=15),
        )
        assert job["task_queue"] == task_queue
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)

    [record] = [r for r in caplog.records if r.name == "lanes.schedules"]
    assert record.levelno == logging.ERROR
    assert record.getMessage().startswith(
        f"schedules of domain {owner!r} were NOT synced: {package}.schedules: "
        "schedule 'bad.tick': unknown activity 'no_such_activity'"
    )
