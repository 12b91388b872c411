"""``lanes jobs``: list, show, cancel, pause and unpause dispatched jobs."""

from __future__ import annotations

import sys
from datetime import datetime
from typing import Any

import click

from core.cli.support import LanesError, run_async

__all__ = ["jobs_group"]

_STATES = [
    "scheduled",
    "running",
    "paused",
    "cancel_requested",
    "completed",
    "failed",
    "canceled",
    "terminated",
    "timed_out",
]

_STYLE = {
    "completed": "green",
    "failed": "red",
    "timed_out": "red",
    "terminated": "red",
    "canceled": "yellow",
    "paused": "yellow",
    "running": "cyan",
}


@click.group("jobs")
def jobs_group() -> None:
    """Look at and steer dispatched jobs (standalone activities)."""


@jobs_group.command("list")
@click.option("--activity", help="Only jobs of this activity.")
@click.option("--state", type=click.Choice(_STATES), help="Only jobs in this state.")
@click.option("--limit", default=20, show_default=True, help="How many jobs to show.")
@run_async
async def list_command(activity: str | None, state: str | None, limit: int) -> None:
    """Recent jobs, newest first (finished ones included)."""
    from rich.table import Table

    from core import jobs

    found = await jobs.list_jobs(activity=activity, state=state, limit=limit)
    if not found:
        click.echo("no jobs")
        return
    table = Table()
    for column in ("id", "activity", "queue", "state", "scheduled", "closed", "UI"):
        table.add_column(column, overflow="fold")  # fold long ids and links, never cut them
    for job in found:
        table.add_row(
            job.id,
            job.activity,
            job.task_queue,
            _state(job.state),
            _when(job.scheduled_at),
            _when(job.closed_at),
            job.ui_url,
        )
    _print(table)


@jobs_group.command("show")
@click.argument("job_id")
@run_async
async def show_command(job_id: str) -> None:
    """One job: state, attempt, last error and its UI link."""
    from rich.table import Table

    from core import jobs

    job = await _call(jobs.status, job_id)
    table = Table(show_header=False, box=None)
    for label, value in (
        ("id", job.id),
        ("activity", job.activity),
        ("queue", job.task_queue),
        ("state", _state(job.state)),
        ("attempt", str(job.attempt) if job.attempt is not None else "-"),
        ("last error", job.last_error or "-"),
        ("scheduled", _when(job.scheduled_at)),
        ("closed", _when(job.closed_at)),
        ("UI", job.ui_url),
    ):
        table.add_row(f"[bold]{label}[/bold]", value)
    _print(table)


@jobs_group.command("cancel")
@click.argument("job_id")
@click.option("--reason", help="Recorded with the job.")
@run_async
async def cancel_command(job_id: str, reason: str | None) -> None:
    """Cancel a job (a running attempt stops at its next heartbeat)."""
    from core import jobs

    await _call(jobs.cancel, job_id, reason=reason)
    click.echo(f"cancel requested: {job_id}")


@jobs_group.command("pause")
@click.argument("job_id")
@click.option("--reason", help="Recorded with the job.")
@run_async
async def pause_command(job_id: str, reason: str | None) -> None:
    """Pause a job: no further attempt starts until it is unpaused."""
    from core import jobs

    await _call(jobs.pause, job_id, reason=reason)
    click.echo(f"paused: {job_id}")


@jobs_group.command("unpause")
@click.argument("job_id")
@click.option("--reason", help="Recorded with the job.")
@run_async
async def unpause_command(job_id: str, reason: str | None) -> None:
    """Let a paused job run again."""
    from core import jobs

    await _call(jobs.unpause, job_id, reason=reason)
    click.echo(f"unpaused: {job_id}")


async def _call(operation: Any, job_id: str, **kwargs: Any) -> Any:
    from temporalio.service import RPCError

    from core import jobs

    try:
        return await operation(job_id, **kwargs)
    except (jobs.JobNotFound, ValueError) as err:
        raise LanesError(str(err)) from None
    except RPCError as err:
        raise LanesError(f"job {job_id}: {err.message}") from None


def _state(state: str) -> str:
    style = _STYLE.get(state)
    return f"[{style}]{state}[/{style}]" if style else state


def _when(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d %H:%M:%S") if moment else "-"


def _print(renderable: Any) -> None:
    from rich.console import Console

    # A pipe has no width to fit: one row per job, nothing folded, so grep and scripts see it.
    Console(width=None if sys.stdout.isatty() else 1000).print(renderable)
