"""Uptime checks against a real loopback server, on both databases: a monitor going down opens
one incident with one notification (email and signed webhook); coming back resolves it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

from operations_test_support import Answer, Outbox, Receiver, wait_until
from sqlalchemy import func, select, update
from temporalio.client import Client

from core import db
from core.dev.testing import running_worker
from core.dispatch import dispatch
from operations import store
from operations.activities.uptime import ProcessDueChecksResult
from operations.models import CheckResult, Incident, Monitor


async def add_monitor(url: str, **values: Any) -> int:
    async with db.session() as s:
        monitor = Monitor(url=url, **values)
        s.add(monitor)
        await s.flush()
        return monitor.id


async def run_checks(client: Client, queue: str, *, due: int) -> ProcessDueChecksResult:
    """One scheduled run, after monitor ``due``'s interval has passed."""
    async with db.session() as s:
        await s.execute(
            update(Monitor)
            .where(Monitor.id == due, Monitor.next_check_at.is_not(None))
            .values(next_check_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    job = await dispatch("process_due_checks", {}, task_queue=queue, client=client)
    result: ProcessDueChecksResult = await job.result()
    return result


def hooks(receiver: Receiver) -> list[dict[str, Any]]:
    return [json.loads(r.body) for r in receiver.received if r.path == "/hooks"]


async def test_down_opens_one_incident_and_one_notification_up_resolves_it(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    ops_env: str,
    receiver: Receiver,
) -> None:
    async with db.session() as s:
        endpoint = await store.add_endpoint(s, f"{receiver.url}/hooks")
    receiver.secret = endpoint.secret
    receiver.routes["/health"] = Answer(503, "maintenance")
    monitor_id = await add_monitor(f"{receiver.url}/health", keyword="good")
    # Checked a minute from now: this run must leave it alone.
    await add_monitor(
        f"{receiver.url}/later", next_check_at=datetime.now(UTC) + timedelta(minutes=1)
    )
    outbox = Outbox()
    async with running_worker(
        temporal_client, "operations", task_queue=task_queue, activities=[outbox.activity]
    ):
        first = await run_checks(temporal_client, task_queue, due=monitor_id)
        second = await run_checks(temporal_client, task_queue, due=monitor_id)
        assert (first.checked, first.failed, first.opened) == (1, 1, [])
        assert second.opened == []
        third = await run_checks(temporal_client, task_queue, due=monitor_id)
        [incident_id] = third.opened
        assert third.notifications == 1
        fourth = await run_checks(
            temporal_client, task_queue, due=monitor_id
        )  # still down: nothing new
        assert (fourth.failed, fourth.opened, fourth.notifications) == (1, [], 0)
        await outbox.wait_for(1)
        await wait_until(lambda: _async(len(hooks(receiver)) >= 1), what="the opened webhook")

        receiver.routes["/health"] = Answer(200, "all good")
        fifth = await run_checks(temporal_client, task_queue, due=monitor_id)
        assert (fifth.failed, fifth.resolved, fifth.notifications) == (0, [incident_id], 1)
        await outbox.wait_for(2)
        await wait_until(lambda: _async(len(hooks(receiver)) >= 2), what="the resolved webhook")

    assert [(m["to"], m["subject"]) for m in outbox.sent] == [
        ("oncall@example.com", f"[down] {receiver.url}/health"),
        ("oncall@example.com", f"[up] {receiver.url}/health"),
    ]
    assert len({m["idempotency_key"] for m in outbox.sent}) == 2
    assert [h["type"] for h in hooks(receiver)] == ["incident.opened", "incident.resolved"]
    assert all(r.verified for r in receiver.received if r.path == "/hooks")
    assert "/later" not in {r.path for r in receiver.received}
    async with db.session() as s:
        incidents = list((await s.execute(select(Incident))).scalars())
        monitor = await s.get(Monitor, monitor_id)
        checks = await s.scalar(
            select(func.count())
            .select_from(CheckResult)
            .where(CheckResult.monitor_id == monitor_id)
        )
    [incident] = incidents
    assert incident.resolved_at is not None
    assert incident.opened_notified_at is not None and incident.resolved_notified_at is not None
    assert "HTTP 503, expected 200" in incident.cause
    assert monitor is not None
    assert (monitor.status, monitor.consecutive_failures, checks) == ("up", 0, 5)


async def _async(value: Any) -> Any:
    return value


async def test_an_incident_left_unnotified_is_notified_by_the_next_run(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    ops_env: str,
) -> None:
    """The worker died between opening the incident and notifying: nothing is lost."""
    monitor_id = await add_monitor(
        "http://127.0.0.1:9/never-checked",
        notify_emails=["owner@example.com"],
        status="down",
        next_check_at=datetime.now(UTC) + timedelta(minutes=5),
    )
    async with db.session() as s:
        s.add(Incident(monitor_id=monitor_id, cause="3 checks failed", opened_at=datetime.now(UTC)))
    outbox = Outbox()
    async with running_worker(
        temporal_client, "operations", task_queue=task_queue, activities=[outbox.activity]
    ):
        job = await dispatch(
            "process_due_checks", {}, task_queue=task_queue, client=temporal_client
        )
        result: ProcessDueChecksResult = await job.result()
        assert (result.checked, result.notifications) == (0, 1)
        again = await dispatch(
            "process_due_checks", {}, task_queue=task_queue, client=temporal_client
        )
        assert (await again.result()).notifications == 0  # stamped: not notified twice
        [sent] = await outbox.wait_for(1)
    assert (sent["to"], sent["subject"]) == (
        "owner@example.com",
        "[down] http://127.0.0.1:9/never-checked",
    )
