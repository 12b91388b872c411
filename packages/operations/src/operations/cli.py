"""``lanes monitors`` and ``lanes webhooks``: uptime monitors and webhook endpoints from the shell.

Added to ``lanes`` by the ``lanes.cli`` entry points (see ``packages/operations/pyproject.toml``),
so core does not import this domain. Heavy imports happen inside the commands: every ``lanes``
invocation loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import click

from core.cli.support import LanesError, run_async

__all__ = ["monitors", "reminders", "webhooks"]


async def _dispose() -> None:
    from core.db import dispose_engines

    await dispose_engines()


def _with_db(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    # Pooled connections are closed on the command's own loop, before it ends.
    return run_async(fn, cleanup=_dispose)


@click.group("webhooks")
def webhooks() -> None:
    """Endpoints that receive signed event notifications (Standard Webhooks)."""


@webhooks.command("add")
@click.argument("url")
@click.option(
    "--event", "events", multiple=True, help="Event type to send (repeatable). Default: all."
)
@_with_db
async def webhooks_add(url: str, events: tuple[str, ...]) -> None:
    """Register URL; prints its id and the secret to verify signatures with (shown once)."""
    from core import db
    from operations import store

    if not url.startswith(("http://", "https://")):
        raise LanesError(f"{url!r} is not an http(s) URL")
    async with db.session() as s:
        endpoint = await store.add_endpoint(s, url, event_types=list(events))
        click.echo(f"{endpoint.id}  {endpoint.url}  secret {endpoint.secret}")


@webhooks.command("list")
@_with_db
async def webhooks_list() -> None:
    """Every endpoint: id, enabled, events, URL."""
    from sqlalchemy import select

    from core import db
    from operations.models import WebhookEndpoint

    async with db.session() as s:
        rows = list(
            (await s.execute(select(WebhookEndpoint).order_by(WebhookEndpoint.id))).scalars()
        )
    click.echo(f"{'id':>5}  {'state':<9} {'events':<30} url")
    for e in rows:
        state = "enabled" if e.enabled else "disabled"
        events = ",".join(e.event_types) or "*"
        click.echo(f"{e.id:>5}  {state:<9} {events:<30} {e.url}")


@click.group("monitors")
def monitors() -> None:
    """Uptime monitors: HTTP checks on a schedule, incidents after repeated failures."""


@monitors.command("add")
@click.argument("url")
@click.option("--interval", default=60, show_default=True, help="Seconds between checks (≥ 60).")
@click.option("--method", default="GET", show_default=True)
@click.option("--expect", "expected_status", default=200, show_default=True, help="Status code.")
@click.option("--timeout", default=10.0, show_default=True, help="Seconds per check.")
@click.option("--keyword", help="Text the response body must contain.")
@click.option("--threshold", default=3, show_default=True, help="Failures that open an incident.")
@click.option("--email", "emails", multiple=True, help="Who is emailed about incidents.")
@_with_db
async def monitors_add(
    url: str,
    interval: int,
    method: str,
    expected_status: int,
    timeout: float,
    keyword: str | None,
    threshold: int,
    emails: tuple[str, ...],
) -> None:
    """Check URL every --interval seconds (the schedule runs every 60 s)."""
    from core import db
    from operations.models import Monitor

    if not url.startswith(("http://", "https://")):
        raise LanesError(f"{url!r} is not an http(s) URL")
    if interval < 60:
        raise LanesError(f"--interval {interval}: the checks run every 60 s; use 60 or more")
    if not 0 < timeout <= 60:
        raise LanesError(f"--timeout {timeout}: give 0 < seconds <= 60")
    if threshold < 1:
        raise LanesError("--threshold must be at least 1")
    async with db.session() as s:
        monitor = Monitor(
            url=url,
            method=method.upper(),
            expected_status=expected_status,
            timeout_seconds=timeout,
            interval_seconds=interval,
            keyword=keyword,
            failure_threshold=threshold,
            notify_emails=list(emails),
            enabled=True,
            status="unknown",
            consecutive_failures=0,
        )
        s.add(monitor)
        await s.flush()
        click.echo(f"{monitor.id}  {monitor.method} {monitor.url} every {interval}s")


@monitors.command("list")
@_with_db
async def monitors_list() -> None:
    """Every monitor: status (up/down), last latency, open incident."""
    from sqlalchemy import select

    from core import db
    from operations.models import Incident, Monitor

    async with db.session() as s:
        rows = (
            await s.execute(
                select(Monitor, Incident)
                .outerjoin(
                    Incident,
                    (Incident.monitor_id == Monitor.id) & Incident.resolved_at.is_(None),
                )
                .order_by(Monitor.id)
            )
        ).all()
    click.echo(f"{'id':>5}  {'status':<7} {'latency':>9}  {'incident':<10} url")
    for monitor, incident in rows:
        latency = (
            f"{monitor.last_latency_ms:.0f} ms" if monitor.last_latency_ms is not None else "-"
        )
        open_incident = f"#{incident.id}" if incident is not None else "-"
        click.echo(
            f"{monitor.id:>5}  {monitor.status:<7} {latency:>9}  {open_incident:<10} {monitor.url}"
        )


@monitors.command("history")
@click.argument("monitor_id", type=int)
@click.option("--limit", default=20, show_default=True, help="Most recent checks shown.")
@_with_db
async def monitors_history(monitor_id: int, limit: int) -> None:
    """The latest checks of monitor MONITOR_ID and its incidents."""
    from sqlalchemy import select

    from core import db
    from operations.models import CheckResult, Incident, Monitor
    from operations.store import aware

    async with db.session() as s:
        monitor = await s.get(Monitor, monitor_id)
        if monitor is None:
            raise LanesError(f"no monitor {monitor_id}; `lanes monitors list` shows them")
        checks = list(
            (
                await s.execute(
                    select(CheckResult)
                    .where(CheckResult.monitor_id == monitor_id)
                    .order_by(CheckResult.checked_at.desc(), CheckResult.id.desc())
                    .limit(limit)
                )
            ).scalars()
        )
        incidents = list(
            (
                await s.execute(
                    select(Incident)
                    .where(Incident.monitor_id == monitor_id)
                    .order_by(Incident.id.desc())
                    .limit(limit)
                )
            ).scalars()
        )
    click.echo(f"monitor {monitor.id}  {monitor.method} {monitor.url}  ({monitor.status})")
    for check in checks:
        when = _when(aware(check.checked_at))
        latency = f"{check.latency_ms:.0f} ms" if check.latency_ms is not None else "-"
        result = "ok" if check.ok else f"FAIL {check.error}"
        click.echo(f"  {when}  {check.status_code or '-':>4}  {latency:>8}  {result}")
    for incident in incidents:
        resolved = aware(incident.resolved_at)
        state = f"resolved {_when(resolved)}" if resolved else "OPEN"
        click.echo(
            f"  incident #{incident.id}  opened {_when(aware(incident.opened_at))}  {state}  "
            f"{incident.cause}"
        )


def _when(value: Any) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S") if value is not None else "-"


@click.group("reminders")
def reminders() -> None:
    """Durable reminders: a timer in Temporal, then an email and a webhook."""


@reminders.command("add")
@click.argument("reminder_id")
@click.argument("subject")
@click.option("--at", "at", help="Due time, ISO 8601 with a zone (2027-01-04T09:00:00+01:00).")
@click.option("--in", "in_seconds", type=float, help="Due this many seconds from now.")
@click.option("--email", "emails", multiple=True, help="Who is emailed (repeatable).")
@click.option("--text", default="", help="Body of the email (default: the subject).")
@run_async
async def reminders_add(
    reminder_id: str,
    subject: str,
    at: str | None,
    in_seconds: float | None,
    emails: tuple[str, ...],
    text: str,
) -> None:
    """Schedule reminder REMINDER_ID (workflow reminder-REMINDER_ID) with SUBJECT."""
    from datetime import UTC, datetime, timedelta

    from temporalio.common import WorkflowIDReusePolicy
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from core.client import get_client
    from operations import TASK_QUEUE
    from operations.workflows import ReminderWorkflow
    from operations.workflows.reminder import ReminderInput

    if (at is None) == (in_seconds is None):
        raise LanesError("give exactly one of --at and --in")
    if at is not None:
        try:
            due = datetime.fromisoformat(at)
        except ValueError:
            raise LanesError(f"--at {at!r} is not an ISO 8601 time") from None
        if due.tzinfo is None:
            raise LanesError(f"--at {at!r} has no time zone; add one (+00:00, Z)")
    else:
        assert in_seconds is not None
        due = datetime.now(UTC) + timedelta(seconds=in_seconds)
    client = await get_client()
    workflow_id = f"reminder-{reminder_id}"
    try:
        await client.start_workflow(
            ReminderWorkflow.run,
            ReminderInput(due_at=due, subject=subject, text=text, emails=list(emails)),
            id=workflow_id,
            task_queue=TASK_QUEUE,
            # One id, one reminder: also after it fired or was cancelled (within retention).
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    except WorkflowAlreadyStartedError:
        raise LanesError(f"reminder {reminder_id!r} exists already ({workflow_id})") from None
    click.echo(f"{workflow_id} due {due.isoformat()}")


@reminders.command("show")
@click.argument("reminder_id")
@run_async
async def reminders_show(reminder_id: str) -> None:
    """Status, due time, snoozes and when it fired."""
    from core.client import get_client
    from operations.workflows import ReminderWorkflow

    client = await get_client()
    handle = client.get_workflow_handle_for(ReminderWorkflow.run, f"reminder-{reminder_id}")
    state = await handle.query(ReminderWorkflow.state)
    fired = state.fired_at.isoformat() if state.fired_at else "-"
    click.echo(
        f"{state.status}  due {state.due_at.isoformat()}  snoozes {state.snoozes}  fired {fired}"
    )


@reminders.command("cancel")
@click.argument("reminder_id")
@run_async
async def reminders_cancel(reminder_id: str) -> None:
    """Cancel a scheduled reminder (a fired one stays fired)."""
    from core.client import get_client
    from operations.workflows import ReminderWorkflow

    client = await get_client()
    handle = client.get_workflow_handle_for(ReminderWorkflow.run, f"reminder-{reminder_id}")
    await handle.signal(ReminderWorkflow.cancel)
    click.echo(f"cancel sent to reminder-{reminder_id}")
