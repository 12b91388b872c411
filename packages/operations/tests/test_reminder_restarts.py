"""A reminder survives a worker restart and a Temporal server restart, and fires once; a
cancelled one never fires. A dev server of its own, with its state in a file, so it can stop."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from operations_test_support import NOTIFIED, notify_standin
from temporalio.client import WorkflowExecutionStatus

from core.client import connect
from core.dev.server import DevServer
from core.dev.testing import running_worker
from operations.workflows import ReminderWorkflow
from operations.workflows.reminder import ReminderInput


async def test_a_reminder_survives_worker_and_server_restarts_and_fires_once(
    tmp_path: Path, task_queue: str
) -> None:
    NOTIFIED.clear()
    db_file = tmp_path / "temporal.db"
    server = DevServer(ui_port=None, db_file=db_file, log_file=tmp_path / "server.log")
    await server.start()
    try:
        client = await connect(target_host=server.address)
        started = time.monotonic()
        # Due after both restarts have (most likely) happened; if not, it fires on the way up.
        due_at = datetime.now(UTC) + timedelta(seconds=12)
        run = uuid.uuid4().hex[:8]
        async with running_worker(
            client, "operations", task_queue=task_queue, activities=[notify_standin]
        ):
            due = await client.start_workflow(
                ReminderWorkflow.run,
                ReminderInput(due_at=due_at, subject="quarterly review"),
                id=f"reminder-restart-{run}",
                task_queue=task_queue,
            )
            cancelled = await client.start_workflow(
                ReminderWorkflow.run,
                ReminderInput(due_at=due_at, subject="cancelled"),
                id=f"reminder-restart-cancelled-{run}",
                task_queue=task_queue,
            )
            assert (await due.query(ReminderWorkflow.state)).status == "scheduled"
            await cancelled.signal(ReminderWorkflow.cancel)
            assert (await cancelled.result()).status == "cancelled"
        # Worker gone; now the server too, and back on the same port and state file.
        await server.stop()
        server = DevServer(
            ui_port=None, port=server.port, db_file=db_file, log_file=tmp_path / "server.log"
        )
        await server.start()
        client = await connect(target_host=server.address)
        handle = client.get_workflow_handle_for(ReminderWorkflow.run, due.id)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING
        restarted_after = time.monotonic() - started
        async with running_worker(
            client, "operations", task_queue=task_queue, activities=[notify_standin]
        ):
            fired = await handle.result()
            gone = await client.get_workflow_handle_for(ReminderWorkflow.run, cancelled.id).result()
    finally:
        await server.stop()
    assert fired.status == "fired"
    assert fired.fired_at is not None and fired.fired_at >= due_at
    assert gone.status == "cancelled"
    assert [n["subject"] for n in NOTIFIED] == ["quarterly review"], NOTIFIED
    print(f"restarts done {restarted_after:.1f}s after start; due at 12s")
