"""``lanes new domain|activity|workflow|schedule``: scaffolding that passes the gate as written.

See :mod:`core.scaffold` for what is written where.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

import click

from core.cli.support import LanesError
from core.scaffold import (
    ScaffoldError,
    domain_target,
    new_activity,
    new_domain,
    new_schedule,
    new_workflow,
)
from core.settings import workspace_root

__all__ = ["new_group"]


@click.group("new")
def new_group() -> None:
    """Write a new domain, activity, workflow or schedule (with its test)."""


@new_group.command("domain")
@click.argument("name")
@click.option("--package", help="Import package, when NAME is taken (email's is `mail`).")
@click.option("--no-lock", is_flag=True, help="Do not run `uv lock` afterwards.")
def domain_command(name: str, package: str | None, no_lock: bool) -> None:
    """A new domain NAME under packages/ (queue NAME), added to the workspace."""
    root = _workspace()
    written = _scaffold(lambda: new_domain(root, name, package))
    _tidy(root, written)
    _report(root, written)
    if not no_lock:
        _uv(root, "lock")
    click.echo(
        f"next: `uv sync`, then `uv run pytest packages/{name}/tests` and "
        f"`uv run lanes new activity {name} NAME`"
    )


@new_group.command("activity")
@click.argument("domain")
@click.argument("name")
def activity_command(domain: str, name: str) -> None:
    """A new activity NAME in DOMAIN's activities/ (one module), with its test."""
    root = _workspace()
    written = _scaffold(lambda: new_activity(domain_target(domain), name))
    _tidy(root, written)
    _report(root, written)


@new_group.command("workflow")
@click.argument("domain")
@click.argument("name")
def workflow_command(domain: str, name: str) -> None:
    """A new workflow NAME (snake_case; class <Name>Workflow) in DOMAIN, exported, with its test."""
    root = _workspace()
    written = _scaffold(lambda: new_workflow(domain_target(domain), name))
    _tidy(root, written)
    _report(root, written)


@new_group.command("schedule")
@click.argument("domain")
@click.argument("schedule_id")
@click.option("--target", required=True, help="An activity name or a workflow class of DOMAIN.")
@click.option("--every", type=float, help="Interval in seconds.")
@click.option("--cron", help='Cron string, e.g. "30 2 * * MON-FRI".')
@click.option("--timezone", default=None, help="IANA time zone of the cron string.")
@click.option("--input", "raw_input", default=None, help="The target's input as JSON.")
@click.option("--description", default="", help="Shown in the UI and `lanes schedules list`.")
def schedule_command(
    domain: str,
    schedule_id: str,
    target: str,
    every: float | None,
    cron: str | None,
    timezone: str | None,
    raw_input: str | None,
    description: str,
) -> None:
    """Add a schedule to DOMAIN's schedules.py (validated first, as a worker would)."""
    from core import activities, domains
    from core.schedules import Schedule, ScheduleError, load_schedules

    root = _workspace()
    where = _scaffold(lambda: domain_target(domain))
    loaded = domains.load(domain)
    if not schedule_id.startswith(f"{domain}."):
        schedule_id = f"{domain}.{schedule_id}"  # ids are namespace-wide: prefix the domain
    if schedule_id in {s.id for s in load_schedules(where.package)}:
        raise LanesError(f"schedule {schedule_id!r} is declared already")
    try:
        value: Any = None if raw_input is None else json.loads(raw_input)
    except json.JSONDecodeError as err:
        raise LanesError(f"--input is not JSON: {err}") from None
    workflow = next((w for w in loaded.workflows if w.__name__ == target), None)
    if workflow is None and activities.config_of(target) is None:
        known = sorted(
            [*(w.__name__ for w in loaded.workflows), *(c.name for c in loaded.activities)]
        )
        raise LanesError(
            f"unknown target {target!r} for domain {domain!r}; known: {', '.join(known) or 'none'}"
        )
    try:
        Schedule(
            id=schedule_id,
            target=workflow or target,
            input=value,
            every=None if every is None else timedelta(seconds=every),
            cron=cron,
            timezone=timezone or "UTC",
            description=description,
        ).resolve()
    except (ScheduleError, ValueError, TypeError) as err:
        raise LanesError(str(err)) from None
    fields = [f"id={schedule_id!r}", f"target={target if workflow else repr(target)}"]
    imports = []
    if workflow is not None:
        imports.append(f"from {where.package}.workflows import {target}")
    if value is not None:
        fields.append(f"input={value!r}")
    if every is not None:
        fields.append(f"every=timedelta(seconds={every:g})")
        imports.append("from datetime import timedelta")
    if cron is not None:
        fields.append(f"cron={cron!r}")
    if timezone:
        fields.append(f"timezone={timezone!r}")
    if description:
        fields.append(f"description={description!r}")
    path = new_schedule(where, f"Schedule({', '.join(fields)})", imports)
    _tidy(root, [path])
    _report(root, [path])


def _workspace() -> Path:
    root = workspace_root()
    if not (root / "pyproject.toml").exists() or not (root / "packages").is_dir():
        raise LanesError(
            f"{root} is not a Lanes workspace (no pyproject.toml with [tool.uv.workspace] and "
            "packages/ here or above); run `lanes new` inside the repository"
        )
    return root


def _scaffold(write: Any) -> Any:
    try:
        return write()
    except ScaffoldError as err:
        raise LanesError(str(err)) from None


def _tidy(root: Path, written: list[Path]) -> None:
    """Sort imports and format what was written with the workspace's own ruff settings."""
    ruff = Path(sys.executable).with_name("ruff")
    binary = str(ruff) if ruff.exists() else shutil.which("ruff")
    files = [str(p) for p in written if p.suffix == ".py"]
    if binary is None or not files:
        return
    for args in (["check", "--select", "I", "--fix", "--quiet"], ["format", "--quiet"]):
        subprocess.run([binary, *args, *files], cwd=root, check=False)


def _report(root: Path, written: list[Path]) -> None:
    for path in written:
        shown = path.relative_to(root) if path.is_relative_to(root) else path
        click.echo(f"wrote {shown}")


def _uv(root: Path, *args: str) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    if uv is None:
        click.echo(f"run `uv {' '.join(args)}` at {root} (uv is not on PATH here)", err=True)
        return
    # Updating the lock is the point here: a UV_LOCKED/UV_FROZEN inherited from the caller (CI
    # exports UV_LOCKED=1) would refuse the very change this command makes.
    env = {k: v for k, v in os.environ.items() if k not in ("UV_LOCKED", "UV_FROZEN")}
    done = subprocess.run(
        [uv, *args], cwd=root, capture_output=True, text=True, check=False, env=env
    )
    if done.returncode != 0:
        raise LanesError(f"`uv {' '.join(args)}` failed: {done.stderr.strip()}")
    click.echo(f"ran `uv {' '.join(args)}`")
