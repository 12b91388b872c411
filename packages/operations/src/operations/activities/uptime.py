"""``process_due_checks``: run every due uptime check, store results, open and resolve incidents.

The ``operations.uptime-process-due-checks`` schedule runs it every 60 s. One run:

1. reads the monitors that are due (``next_check_at`` in the past, or never checked);
2. checks them concurrently with httpx (:mod:`operations.uptime.probe`), at most
   ``LANES_OPERATIONS_CHECK_CONCURRENCY`` at a time, each with the monitor's own timeout,
   heartbeating as checks complete;
3. writes every result, the monitors' new state and the incidents that opened or resolved in one
   transaction (:func:`operations.store.record_checks`) —
   :func:`operations.uptime.evaluate.transition` decides (``failure_threshold`` failures in a row
   open an incident, the next success resolves it);
4. notifies about each incident that opened or resolved (:mod:`operations.activities.notify`),
   then stamps it notified. The stamp is an outbox: an incident whose notification was not
   stamped (the worker died in between) is notified by the next run, and the dispatch ids,
   derived from the incident, make a repeat start nothing.

A run that fails before step 3 wrote nothing, so its retry checks again from scratch. SQLAlchemy
and httpx are imported on the first run (:func:`core.activities.preload`), not at worker start.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta

import pydantic
from temporalio import activity
from temporalio.common import RetryPolicy

from core import activities, db
from operations import TASK_QUEUE
from operations.activities.notify import NotifyInput, send_notification
from operations.settings import operations_settings

BODY = ("core.db.engine", "operations.store", "operations.uptime.probe")
"""What the activity's body imports on its first job (SQLAlchemy, httpx), not at worker start."""

__all__ = ["ProcessDueChecksInput", "ProcessDueChecksResult", "process_due_checks"]

# A run is due again in a minute: retry a failed one soon, and not for long.
UPTIME_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=5), backoff_coefficient=2.0, maximum_attempts=3
)


_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ProcessDueChecksInput(pydantic.BaseModel):
    limit: int = pydantic.Field(default=10_000, ge=1, le=100_000)
    """Most monitors checked in one run; the rest stay due for the next. Default: 10,000."""


class ProcessDueChecksResult(pydantic.BaseModel):
    checked: int = 0
    failed: int = 0
    """Checks that failed (whether or not they opened an incident)."""
    opened: list[int] = pydantic.Field(default_factory=list)
    """Incidents opened by this run."""
    resolved: list[int] = pydantic.Field(default_factory=list)
    notifications: int = 0
    """Incident notifications sent (opened and resolved, including earlier runs' left-overs)."""
    duration_s: float = 0.0
    """How long the checks took (not the writes)."""


@activities.defn(
    retry=UPTIME_RETRY, start_to_close=timedelta(minutes=10), heartbeat=timedelta(minutes=1)
)
async def process_due_checks(input: ProcessDueChecksInput) -> ProcessDueChecksResult:
    """Check every due monitor once; see the module docstring."""
    result = ProcessDueChecksResult()
    now = datetime.now(UTC)
    await activities.preload(*BODY)
    from operations import store
    from operations.uptime.probe import Due, check_all

    async with db.session() as s:
        due = [
            Due(m.id, m.url, m.method, m.expected_status, m.timeout_seconds, m.keyword)
            for m in await store.due_monitors(s, now, input.limit)
        ]
    started = time.perf_counter()
    checked = await check_all(due, operations_settings().check_concurrency, on_checked=_heartbeat)
    result.duration_s = time.perf_counter() - started
    result.checked = len(checked)
    result.failed = sum(1 for c in checked if c.error is not None)
    if checked:
        async with db.session() as s:
            result.opened, result.resolved = await store.record_checks(s, checked)
    result.notifications = await _notify_pending()
    return result


def _heartbeat() -> None:
    if activity.in_activity():
        activity.heartbeat()


async def _notify_pending() -> int:
    """Notify about incidents opened or resolved and not yet notified (the outbox)."""
    from operations.store import aware, unnotified_incidents  # loaded by the activity

    async with db.session() as s:
        pending = [
            (i.id, i.cause, aware(i.opened_at), aware(i.resolved_at), i.opened_notified_at, m)
            for i, m in await unnotified_incidents(s)
        ]
    queue = activity.info().task_queue if activity.in_activity() else TASK_QUEUE
    fallback = operations_settings().alert_emails
    sent = 0
    for incident_id, cause, opened_at, resolved_at, opened_notified, monitor in pending:
        emails = list(monitor.notify_emails or fallback)
        # The opening time (in microseconds) makes the key unique beyond this database: ids
        # restart in a new one, while the Temporal namespace remembers the old dispatch ids.
        opened_us = (opened_at - _EPOCH) // timedelta(microseconds=1) if opened_at else 0
        key = f"incident-{incident_id}-{opened_us}"
        data = {
            "incident_id": incident_id,
            "monitor_id": monitor.id,
            "url": monitor.url,
            "cause": cause,
            "opened_at": opened_at.isoformat() if opened_at else None,
        }
        if opened_notified is None:
            await send_notification(
                NotifyInput(
                    key=f"{key}-opened",
                    event_type="incident.opened",
                    subject=f"[down] {monitor.url}",
                    text=f"{monitor.url} is down: {cause}. Incident {incident_id}.",
                    data=data,
                    emails=emails,
                ),
                webhook_queue=queue,
            )
            await _stamp(incident_id, opened_notified_at=datetime.now(UTC))
            sent += 1
        if resolved_at is not None:
            await send_notification(
                NotifyInput(
                    key=f"{key}-resolved",
                    event_type="incident.resolved",
                    subject=f"[up] {monitor.url}",
                    text=f"{monitor.url} is up again. Incident {incident_id} is resolved.",
                    data=data | {"resolved_at": resolved_at.isoformat()},
                    emails=emails,
                ),
                webhook_queue=queue,
            )
            await _stamp(incident_id, resolved_notified_at=datetime.now(UTC))
            sent += 1
    return sent


async def _stamp(incident_id: int, **values: datetime) -> None:
    from operations import store  # loaded by the activity that calls this

    async with db.session() as s:
        await store.stamp_incident(s, incident_id, **values)
