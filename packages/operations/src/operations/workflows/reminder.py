"""ReminderWorkflow: one durable reminder — a timer to its due time, then a notification.

Start one per reminder, with id ``reminder-<your id>`` (the server then refuses a duplicate). The
timer lives in the Temporal server, so the reminder survives worker restarts, deploys and server
restarts and fires once. While it waits:

- signal ``cancel``: it ends without firing;
- signal ``snooze`` (seconds): it fires that long after now instead;
- update ``reschedule`` (a new due time): validated first — a time in the past, or a reminder
  that already fired or was cancelled, is refused to the caller and nothing is recorded;
- query ``state``: status, due time, snoozes, when it fired.

Firing runs :func:`operations.activities.notify.notify` (emails and webhooks by dispatch), keyed
by the reminder's first run, so a retried or replayed firing notifies once. Since the
``reminder-local-notify`` patch it runs as a local activity (fewer history events per reminder);
reminders that started before keep the activity they were recorded with.
"""

from __future__ import annotations

import contextlib
from datetime import datetime, timedelta

import pydantic
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core import durable
    from core.activities import ActivityOptions
    from operations.activities.notify import NotifyInput, notify

LOCAL_NOTIFY = "reminder-local-notify"
"""Patch id: reminders fire through a local activity (replay test: tests/histories/)."""

__all__ = ["ReminderInput", "ReminderState", "ReminderWorkflow", "RescheduleInput", "SnoozeInput"]


class ReminderInput(pydantic.BaseModel):
    due_at: pydantic.AwareDatetime
    """When to fire (with a time zone). In the past: fires at once."""
    subject: str
    text: str = ""
    emails: list[str] = pydantic.Field(default_factory=list)
    """Who is emailed. Default: nobody (webhooks only)."""
    webhooks: bool = True
    """Deliver a ``reminder.due`` webhook to subscribed endpoints. Default: true."""
    data: dict[str, str] = pydantic.Field(default_factory=dict)
    """Extra fields for the webhook's data."""


class SnoozeInput(pydantic.BaseModel):
    seconds: float = pydantic.Field(gt=0, le=366 * 24 * 3600)


class RescheduleInput(pydantic.BaseModel):
    due_at: pydantic.AwareDatetime


class ReminderState(pydantic.BaseModel):
    status: str
    """``scheduled``, ``fired`` or ``cancelled``."""
    due_at: datetime
    snoozes: int = 0
    fired_at: datetime | None = None


@workflow.defn
class ReminderWorkflow:
    @workflow.init
    def __init__(self, input: ReminderInput) -> None:
        # Built before any signal or update is handled, so none is lost at start.
        self._state = ReminderState(status="scheduled", due_at=input.due_at)
        self._changed = False

    @workflow.run
    async def run(self, input: ReminderInput) -> ReminderState:
        state = self._state
        while state.status == "scheduled":
            remaining = state.due_at - workflow.now()
            if remaining <= timedelta(0):
                break
            self._changed = False
            # A timeout means due (or due later, if moved while the timer fired): the loop decides.
            with contextlib.suppress(TimeoutError):
                await workflow.wait_condition(
                    lambda: self._changed or state.status != "scheduled", timeout=remaining
                )
        if state.status == "cancelled":
            workflow.logger.info("reminder cancelled before it was due")
            return state
        info = workflow.info()
        await self._notify(
            NotifyInput(
                key=f"reminder-{info.workflow_id}-{info.first_execution_run_id}",
                event_type="reminder.due",
                subject=input.subject,
                text=input.text or input.subject,
                data={**input.data, "due_at": state.due_at.isoformat()},
                emails=input.emails,
                webhooks=input.webhooks,
            )
        )
        state.status, state.fired_at = "fired", workflow.now()
        return state

    async def _notify(self, notification: NotifyInput) -> None:
        if workflow.patched(LOCAL_NOTIFY):
            # A local activity: the firing costs one marker event instead of three activity
            # events and a workflow task (notify only dispatches, it takes milliseconds).
            await durable.run_activity(notify, notification, options=ActivityOptions(local=True))
        else:
            # Reminders started before the change replay (and finish) the way they began.
            await durable.run_activity(notify, notification)

    @workflow.signal
    def cancel(self) -> None:
        """Do not fire (ignored once fired)."""
        if self._state.status == "scheduled":
            self._state.status = "cancelled"

    @workflow.signal
    def snooze(self, input: SnoozeInput) -> None:
        """Fire ``seconds`` from now instead."""
        if self._state.status == "scheduled":
            self._state.due_at = workflow.now() + timedelta(seconds=input.seconds)
            self._state.snoozes += 1
            self._changed = True

    @workflow.update
    def reschedule(self, input: RescheduleInput) -> ReminderState:
        """Move the due time; returns the new state."""
        self._state.due_at = input.due_at
        self._changed = True
        return self._state

    @reschedule.validator
    def _validate_reschedule(self, input: RescheduleInput) -> None:
        if self._state.status != "scheduled":
            raise ValueError(
                f"the reminder is {self._state.status}; only a scheduled one can be moved"
            )
        if input.due_at <= workflow.now():
            raise ValueError(
                f"due_at {input.due_at.isoformat()} is in the past "
                f"(now {workflow.now().isoformat()}); give a future time"
            )

    @workflow.query
    def state(self) -> ReminderState:
        """Where the reminder stands."""
        return self._state
