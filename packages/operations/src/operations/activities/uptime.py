"""``process_due_checks``: run every due uptime check, store results, open and resolve incidents.

The ``operations.uptime-process-due-checks`` schedule runs it every 60 s. One run:

1. reads the monitors that are due (``next_check_at`` in the past, or never checked);
2. checks them concurrently with httpx, at most ``LANES_OPERATIONS_CHECK_CONCURRENCY`` at a
   time, each with the monitor's own timeout, heartbeating as checks complete;
3. writes every result, the monitors' new state and the incidents that opened or resolved in one
   transaction — :func:`operations.uptime.evaluate.transition` decides (``failure_threshold``
   failures in a row open an incident, the next success resolves it);
4. notifies about each incident that opened or resolved (:mod:`operations.activities.notify`),
   then stamps it notified. The stamp is an outbox: an incident whose notification was not
   stamped (the worker died in between) is notified by the next run, and the dispatch ids,
   derived from the incident, make a repeat start nothing.

A run that fails before step 3 wrote nothing, so its retry checks again from scratch.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import httpx
import pydantic
from sqlalchemy import or_, select, update
from temporalio import activity
from temporalio.common import RetryPolicy

from core import activities, db
from operations import TASK_QUEUE
from operations.activities.notify import NotifyInput, send_notification
from operations.models import CheckResult, Incident, Monitor
from operations.settings import operations_settings
from operations.store import aware
from operations.uptime.evaluate import evaluate, transition

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


@dataclass(frozen=True)
class _Due:
    id: int
    url: str
    method: str
    expected_status: int
    timeout: float
    keyword: str | None


@dataclass(frozen=True)
class _Checked:
    monitor: _Due
    checked_at: datetime
    status_code: int | None
    latency_ms: float | None
    error: str | None


@activities.defn(
    retry=UPTIME_RETRY, start_to_close=timedelta(minutes=10), heartbeat=timedelta(minutes=1)
)
async def process_due_checks(input: ProcessDueChecksInput) -> ProcessDueChecksResult:
    """Check every due monitor once; see the module docstring."""
    result = ProcessDueChecksResult()
    now = datetime.now(UTC)
    async with db.session() as s:
        due = [
            _Due(m.id, m.url, m.method, m.expected_status, m.timeout_seconds, m.keyword)
            for m in (
                await s.execute(
                    select(Monitor)
                    .where(
                        Monitor.enabled.is_(True),
                        or_(Monitor.next_check_at.is_(None), Monitor.next_check_at <= now),
                    )
                    .order_by(Monitor.id)
                    .limit(input.limit)
                )
            ).scalars()
        ]
    started = time.perf_counter()
    checked = await _check_all(due, operations_settings().check_concurrency)
    result.duration_s = time.perf_counter() - started
    result.checked = len(checked)
    result.failed = sum(1 for c in checked if c.error is not None)
    if checked:
        result.opened, result.resolved = await _store(checked)
    result.notifications = await _notify_pending()
    return result


async def _check_all(due: list[_Due], concurrency: int) -> list[_Checked]:
    # `concurrency` lanes, each its own client taking the next due monitor when its check ends.
    # Not one shared pool behind a semaphore: with 50 requests waiting on it, httpcore's pool
    # spent its time re-assigning them (80 against 330-480 loopback checks/s, measured here).
    pending = list(reversed(due))
    checked: list[_Checked] = []
    tls = httpx.create_ssl_context()  # loading the CA bundle once, not once per lane

    async def lane() -> None:
        async with httpx.AsyncClient(verify=tls, follow_redirects=True) as client:
            while pending:
                checked.append(await _check(client, pending.pop()))
                if activity.in_activity():
                    activity.heartbeat()

    await asyncio.gather(*(lane() for _ in range(min(concurrency, len(due)))))
    return checked


async def _check(client: httpx.AsyncClient, monitor: _Due) -> _Checked:
    checked_at = datetime.now(UTC)
    started = time.perf_counter()
    try:
        response = await client.request(monitor.method, monitor.url, timeout=monitor.timeout)
    except httpx.TimeoutException:
        return _Checked(monitor, checked_at, None, None, f"timed out after {monitor.timeout:g}s")
    except httpx.HTTPError as err:
        return _Checked(monitor, checked_at, None, None, f"{type(err).__name__}: {err}"[:500])
    latency = (time.perf_counter() - started) * 1000
    body = response.text if monitor.keyword else None
    error = evaluate(
        response.status_code,
        body,
        expected_status=monitor.expected_status,
        keyword=monitor.keyword,
    )
    return _Checked(monitor, checked_at, response.status_code, latency, error)


async def _store(checked: list[_Checked]) -> tuple[list[int], list[int]]:
    """Results, monitor state and incident changes, in one transaction."""
    opened: list[int] = []
    resolved: list[int] = []
    by_id = {c.monitor.id: c for c in checked}
    async with db.session() as s:
        s.add_all(
            CheckResult(
                monitor_id=c.monitor.id,
                checked_at=c.checked_at,
                ok=c.error is None,
                status_code=c.status_code,
                latency_ms=c.latency_ms,
                error=c.error,
            )
            for c in checked
        )
        # Locked (PostgreSQL; SQLite has one writer anyway) and read after the lock: a run started
        # by hand beside the scheduled one sees the other's incident instead of opening its own.
        monitors = (
            await s.execute(
                select(Monitor).where(Monitor.id.in_(by_id)).order_by(Monitor.id).with_for_update()
            )
        ).scalars()
        new_incidents: list[Incident] = []
        for monitor in monitors:
            c = by_id[monitor.id]
            step = transition(
                monitor.status,
                monitor.consecutive_failures,
                ok=c.error is None,
                threshold=monitor.failure_threshold,
            )
            monitor.status = step.status
            monitor.consecutive_failures = step.consecutive_failures
            monitor.last_checked_at = c.checked_at
            monitor.last_latency_ms = c.latency_ms
            monitor.next_check_at = c.checked_at + timedelta(seconds=monitor.interval_seconds)
            if step.open_incident:
                cause = f"{step.consecutive_failures} checks in a row failed: {c.error}"
                incident = Incident(monitor_id=monitor.id, cause=cause, opened_at=c.checked_at)
                s.add(incident)
                new_incidents.append(incident)
            if step.resolve_incident:
                ids = (
                    await s.execute(
                        update(Incident)
                        .where(Incident.monitor_id == monitor.id, Incident.resolved_at.is_(None))
                        .values(resolved_at=c.checked_at)
                        .returning(Incident.id)
                    )
                ).scalars()
                resolved.extend(ids)
        await s.flush()
        opened = [i.id for i in new_incidents]
    return opened, resolved


async def _notify_pending() -> int:
    """Notify about incidents opened or resolved and not yet notified (the outbox)."""
    async with db.session() as s:
        rows = (
            await s.execute(
                select(Incident, Monitor)
                .join(Monitor, Monitor.id == Incident.monitor_id)
                .where(
                    or_(
                        Incident.opened_notified_at.is_(None),
                        Incident.resolved_at.is_not(None) & Incident.resolved_notified_at.is_(None),
                    )
                )
                .order_by(Incident.id)
            )
        ).all()
        pending = [
            (i.id, i.cause, aware(i.opened_at), aware(i.resolved_at), i.opened_notified_at, m)
            for i, m in rows
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
    async with db.session() as s:
        await s.execute(update(Incident).where(Incident.id == incident_id).values(**values))
