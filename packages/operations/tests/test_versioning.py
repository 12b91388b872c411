"""Versioning: a ReminderWorkflow history recorded before the ``reminder-local-notify`` change
still replays against today's code, and would not without the ``workflow.patched`` guard."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import workflow
from temporalio.client import WorkflowHistory
from temporalio.workflow import NondeterminismError

from core.dev.testing import replay
from operations.activities.notify import NotifyInput, notify
from operations.workflows import ReminderWorkflow
from operations.workflows.reminder import ReminderInput, ReminderState

HISTORIES = Path(__file__).parent / "histories"


def recorded(name: str) -> WorkflowHistory:
    return WorkflowHistory.from_json(name.removesuffix(".json"), (HISTORIES / name).read_text())


async def test_a_history_recorded_before_the_change_replays() -> None:
    history = recorded("reminder_v1.json")
    kinds = [event.WhichOneof("attributes") for event in history.events]
    assert "activity_task_scheduled_event_attributes" in kinds  # the old way: a real activity
    await replay([history], [ReminderWorkflow])


@workflow.defn(name="ReminderWorkflow", sandboxed=False)
class UnguardedReminderWorkflow(ReminderWorkflow):
    """The same change made without ``workflow.patched``: what the guard protects against."""

    @workflow.run
    async def run(self, input: ReminderInput) -> ReminderState:
        return await super().run(input)

    async def _notify(self, notification: NotifyInput) -> None:
        await workflow.execute_local_activity(
            notify, notification, start_to_close_timeout=timedelta(seconds=30)
        )


async def test_without_the_guard_the_recorded_history_no_longer_replays() -> None:
    with pytest.raises(NondeterminismError):
        await replay([recorded("reminder_v1.json")], [UnguardedReminderWorkflow], sandboxed=False)
