"""Reminders: fire once at their due time through notify; cancel, snooze, reschedule, query."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from operations_test_support import Outbox, Receiver, wait_until
from temporalio.client import Client, WorkflowUpdateFailedError

from core import db
from core.dev.testing import running_worker
from operations import store
from operations.workflows import ReminderWorkflow
from operations.workflows.reminder import ReminderInput, RescheduleInput, SnoozeInput


def soon(seconds: float) -> datetime:
    return datetime.now(UTC) + timedelta(seconds=seconds)


async def test_a_reminder_fires_once_and_a_cancelled_one_never(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    ops_env: str,
    receiver: Receiver,
) -> None:
    async with db.session() as s:
        endpoint = await store.add_endpoint(
            s, f"{receiver.url}/hooks", event_types=["reminder.due"]
        )
    receiver.secret = endpoint.secret
    outbox = Outbox()
    run = uuid.uuid4().hex[:8]
    async with running_worker(
        temporal_client, "operations", task_queue=task_queue, activities=[outbox.activity]
    ):
        due = await temporal_client.start_workflow(
            ReminderWorkflow.run,
            ReminderInput(
                due_at=soon(1), subject="Renew the TLS certificate", emails=["ops@example.com"]
            ),
            id=f"reminder-due-{run}",
            task_queue=task_queue,
        )
        cancelled = await temporal_client.start_workflow(
            ReminderWorkflow.run,
            ReminderInput(due_at=soon(1), subject="never", emails=["ops@example.com"]),
            id=f"reminder-cancelled-{run}",
            task_queue=task_queue,
        )
        await cancelled.signal(ReminderWorkflow.cancel)
        fired = await due.result()
        gone = await cancelled.result()
        await outbox.wait_for(1)
        await wait_until(lambda: _hooks(receiver), what="the reminder webhook")
    assert (fired.status, gone.status) == ("fired", "cancelled")
    assert fired.fired_at is not None and fired.fired_at >= fired.due_at
    assert gone.fired_at is None
    assert [(m["to"], m["subject"]) for m in outbox.sent] == [
        ("ops@example.com", "Renew the TLS certificate")
    ]
    [hook] = [r for r in receiver.received if r.path == "/hooks"]
    assert hook.verified
    assert json.loads(hook.body)["type"] == "reminder.due"


async def _hooks(receiver: Receiver) -> bool:
    return any(r.path == "/hooks" for r in receiver.received)


async def test_snooze_reschedule_and_query(temporal_client: Client, task_queue: str) -> None:
    from operations_test_support import NOTIFIED, notify_standin

    NOTIFIED.clear()
    async with running_worker(
        temporal_client, "operations", task_queue=task_queue, activities=[notify_standin]
    ):
        handle = await temporal_client.start_workflow(
            ReminderWorkflow.run,
            ReminderInput(due_at=soon(3600), subject="stand-up"),
            id=f"reminder-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        state = await handle.query(ReminderWorkflow.state)
        assert (state.status, state.snoozes) == ("scheduled", 0)

        with pytest.raises(WorkflowUpdateFailedError) as refused:
            await handle.execute_update(
                ReminderWorkflow.reschedule, RescheduleInput(due_at=soon(-60))
            )
        assert "is in the past" in str(refused.value.cause)
        moved = await handle.execute_update(
            ReminderWorkflow.reschedule, RescheduleInput(due_at=soon(1800))
        )
        assert moved.status == "scheduled"

        await handle.signal(ReminderWorkflow.snooze, SnoozeInput(seconds=1))
        result = await handle.result()
        assert (result.status, result.snoozes) == ("fired", 1)
        assert result.due_at < soon(60)  # the snooze, not the hour or the half hour
        assert (await handle.query(ReminderWorkflow.state)).status == "fired"
    assert len(NOTIFIED) == 1
