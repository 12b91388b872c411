"""``lanes schedules``: see, sync and operate the schedules on the Temporal server.

``list`` and the operator commands (``pause``, ``unpause``, ``trigger``, ``delete``,
``backfill``) work on every schedule of the namespace, including ones made by hand; ``sync``
only ever writes the schedules the installed domains declare (see :mod:`core.schedules`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any

import click
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.client import Client, ScheduleBackfill, ScheduleDescription, ScheduleOverlapPolicy
from temporalio.service import RPCError, RPCStatusCode

from core import domains
from core.cli.support import LanesError, run_async
from core.client import get_client
from core.schedules import (
    ScheduleError,
    declaration_memo,
    load_schedules,
    owner_of,
    sync_schedules,
)

__all__ = ["schedules_group"]

_OVERLAP = click.Choice([p.name.lower() for p in ScheduleOverlapPolicy], case_sensitive=False)


@click.group("schedules")
def schedules_group() -> None:
    """List, sync and operate schedules (declared in each domain's schedules.py)."""


@schedules_group.command("list")
@click.option("--owner", help="Only schedules this domain created.")
@run_async
async def list_command(owner: str | None) -> None:
    """Every schedule on the server: id, owner, when, next runs, paused, last result."""
    client = await get_client()
    ids = sorted([entry.id async for entry in await client.list_schedules()])
    rows: list[tuple[str, ...]] = [
        ("ID", "OWNER", "SPEC", "NEXT RUNS (UTC)", "PAUSED", "LAST RESULT")
    ]
    for schedule_id in ids:
        row = await _row(client, schedule_id)
        if row is not None and (owner is None or row[1] == owner):
            rows.append(row)
    if len(rows) == 1:
        click.echo("no schedules" + (f" owned by {owner!r}" if owner else ""))
        return
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    for r in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(r, widths, strict=True)).rstrip())


async def _row(client: Client, schedule_id: str) -> tuple[str, ...] | None:
    try:
        description = await client.get_schedule_handle(schedule_id).describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None  # deleted since it was listed
        raise
    memo = await declaration_memo(client, description)
    next_runs = ", ".join(
        t.strftime("%Y-%m-%d %H:%M:%S") for t in description.info.next_action_times[:2]
    )
    return (
        schedule_id,
        await owner_of(description) or "-",
        str(memo.get("spec") or _spec_text(description)),
        next_runs or "-",
        "yes" if description.schedule.state.paused else "no",
        await _last_result(client, description),
    )


def _spec_text(description: ScheduleDescription) -> str:
    spec = description.schedule.spec
    parts = [f"every {i.every}" for i in spec.intervals]
    if spec.calendars:
        parts.append(f"{len(spec.calendars)} calendar spec(s)")
    return "; ".join(parts) or "-"


async def _last_result(client: Client, description: ScheduleDescription) -> str:
    recent = description.raw_description.info.recent_actions
    if not recent:
        return "-"
    last = recent[-1]
    started = last.start_workflow_result
    # The schedule records a run's status only lazily; the run itself knows it now.
    status: int = last.start_workflow_status
    with contextlib.suppress(RPCError):  # the run may be past retention
        run = client.get_workflow_handle(started.workflow_id, run_id=started.run_id)
        status = (await run.describe()).raw_description.workflow_execution_info.status
    name = (
        WorkflowExecutionStatus.Name(status)  # type: ignore[arg-type]
        .removeprefix("WORKFLOW_EXECUTION_STATUS_")
        .lower()
        if status
        else "started"
    )
    when = last.actual_time.ToDatetime().strftime("%Y-%m-%d %H:%M:%S")
    return f"{name} ({when}, {started.workflow_id})"


@schedules_group.command("sync")
@click.option("--dry-run", is_flag=True, help="Print the plan; change nothing.")
@click.option("--owner", "owners", multiple=True, help="Only this domain (repeatable).")
@run_async
async def sync_command(dry_run: bool, owners: tuple[str, ...]) -> None:
    """Make the server hold exactly what each installed domain's schedules.py declares."""
    loaded = domains.load_all(owners or None)
    try:
        declared = {d.name: load_schedules(d.package) for d in loaded}
    except ScheduleError as err:
        raise LanesError(str(err)) from None
    client = await get_client()
    conflicts = 0
    for name, schedules in declared.items():
        summary = await sync_schedules(client, schedules, owner=name, dry_run=dry_run)
        click.echo(str(summary))
        for line in summary.lines():
            click.echo(f"  {line}")
        conflicts += len(summary.conflicts)
    if conflicts:
        raise LanesError(f"{conflicts} declared schedule(s) collide with schedules not theirs")


@schedules_group.command("pause")
@click.argument("schedule_id")
@click.option("--note", help="Why it is paused (shown in the UI and in `list`).")
@run_async
async def pause_command(schedule_id: str, note: str | None) -> None:
    """Pause a schedule; a later sync keeps it paused."""
    async with _schedule(schedule_id) as handle:
        await handle.pause(note=note or "paused with `lanes schedules pause`")
    click.echo(f"paused {schedule_id}")


@schedules_group.command("unpause")
@click.argument("schedule_id")
@click.option("--note", help="Why it runs again.")
@run_async
async def unpause_command(schedule_id: str, note: str | None) -> None:
    """Let a paused schedule run again."""
    async with _schedule(schedule_id) as handle:
        await handle.unpause(note=note or "unpaused with `lanes schedules unpause`")
    click.echo(f"unpaused {schedule_id}")


@schedules_group.command("trigger")
@click.argument("schedule_id")
@run_async
async def trigger_command(schedule_id: str) -> None:
    """Run a schedule's action once, now (its overlap policy still applies)."""
    async with _schedule(schedule_id) as handle:
        await handle.trigger()
    click.echo(f"triggered {schedule_id}")


@schedules_group.command("delete")
@click.argument("schedule_id")
@run_async
async def delete_command(schedule_id: str) -> None:
    """Delete a schedule (running workflows it started keep running)."""
    async with _schedule(schedule_id) as handle:
        owner = await owner_of(await handle.describe())
        await handle.delete()
    click.echo(f"deleted {schedule_id}")
    if owner:
        click.echo(
            f"note: domain {owner!r} declares it; its next sync recreates it unless it is "
            "removed from that domain's schedules.py",
            err=True,
        )


@schedules_group.command("backfill")
@click.argument("schedule_id")
@click.option("--start", "start", required=True, help="ISO 8601 time, exclusive (UTC if naive).")
@click.option("--end", "end", required=True, help="ISO 8601 time, inclusive (UTC if naive).")
@click.option("--overlap", type=_OVERLAP, help="Overlap policy for these runs (default: its own).")
@run_async
async def backfill_command(schedule_id: str, start: str, end: str, overlap: str | None) -> None:
    """Run the actions the schedule would have run between --start and --end."""
    start_at, end_at = _time(start, "--start"), _time(end, "--end")
    if end_at <= start_at:
        raise click.BadParameter(f"--end ({end}) must be after --start ({start})")
    policy = ScheduleOverlapPolicy[overlap.upper()] if overlap else None
    async with _schedule(schedule_id) as handle:
        await handle.backfill(ScheduleBackfill(start_at=start_at, end_at=end_at, overlap=policy))
    click.echo(f"backfilling {schedule_id} from {start_at.isoformat()} to {end_at.isoformat()}")


@asynccontextmanager
async def _schedule(schedule_id: str) -> AsyncIterator[Any]:
    """The schedule's handle; a missing schedule becomes one clear line."""
    client = await get_client()
    try:
        yield client.get_schedule_handle(schedule_id)
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            raise LanesError(
                f"no schedule {schedule_id!r} on the server; `lanes schedules list` shows them"
            ) from None
        raise


def _time(raw: str, option: str) -> datetime:
    try:
        value = datetime.fromisoformat(raw)
    except ValueError:
        raise click.BadParameter(
            f"{option} {raw!r} is not an ISO 8601 time like 2026-01-31T12:00:00Z"
        ) from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)
