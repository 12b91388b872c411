"""The ``lanes`` command.

Every failure a person can cause (server unreachable, unknown activity, bad JSON, a port in use)
ends in one line on stderr that says what was wrong and what to do, and a non-zero exit: 1 for a
failure of the work or the environment, 2 for a wrong command line.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from datetime import timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import pydantic_core
from temporalio.client import WorkflowFailureError

from core import domains
from core._cli_support import LanesError, run_async
from core.cli_db import db as db_command
from core.cli_plugins import add_plugin_commands
from core.cli_schedules import schedules_group
from core.client import get_client
from core.devserver import DevServer
from core.dispatch import dispatch
from core.domains import DomainError
from core.errors import STARTUP_ERRORS
from core.settings import settings

__all__ = ["main"]

T = TypeVar("T")


@click.group()
@click.version_option(package_name="lanes-core")
def cli() -> None:
    """Lanes: durable background work on Temporal."""


cli.add_command(db_command)
cli.add_command(schedules_group)
add_plugin_commands(cli)  # domains' own groups (`lanes repos`), by the `lanes.cli` entry point


def main() -> None:
    """Entry point of ``lanes``: run the command, then end the process deliberately.

    Ends with ``os._exit`` (via :func:`core.worker._exit`) because the SDK's Rust runtime has been
    seen to abort the interpreter at exit (``PyGILState_Release``) once a client was used.
    """
    from core.worker import _exit

    try:
        code = cli.main(standalone_mode=False) or 0
    except click.exceptions.Abort:
        click.echo("aborted", err=True)
        code = 130
    except click.ClickException as err:
        err.show()
        code = err.exit_code
    except SystemExit as err:
        code = err.code if isinstance(err.code, int) else (0 if err.code is None else 1)
    _exit(code if isinstance(code, int) else 0)


def _load_known_activities() -> None:
    # Import every installed domain's activities so names resolve to their queue and inputs are
    # validated here, before anything is started.
    domains.load_all()


def _json_arg(raw: str | None, what: str) -> Any:
    if raw is None:
        return None
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"{what} is not valid JSON: {err}") from None


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(pydantic_core.to_jsonable_python(value), indent=2, sort_keys=True))


@cli.command("dispatch")
@click.argument("activity")
@click.option("--input", "input_json", help="The activity's input as JSON.")
@click.option("--queue", "task_queue", help="Task queue (default: the activity's own).")
@click.option("--id", "workflow_id", help="Workflow id; the same id twice starts one job.")
@click.option("--delay", type=float, help="Start no earlier than this many seconds from now.")
@click.option(
    "--options", "options_json", help="Overrides as JSON, e.g. '{\"maximum_attempts\":1}'."
)
@click.option("--wait", is_flag=True, help="Wait for the job and print its result.")
@run_async
async def dispatch_command(
    activity: str,
    input_json: str | None,
    task_queue: str | None,
    workflow_id: str | None,
    delay: float | None,
    options_json: str | None,
    wait: bool,
) -> None:
    """Dispatch one job: run ACTIVITY with --input."""
    payload = _json_arg(input_json, "--input")
    options = _json_arg(options_json, "--options")
    _load_known_activities()
    job = await dispatch(
        activity,
        payload,
        task_queue=task_queue,
        workflow_id=workflow_id,
        start_delay=timedelta(seconds=delay) if delay else None,
        options=options,
    )
    summary: dict[str, Any] = {
        "workflow_id": job.workflow_id,
        "run_id": job.run_id,
        "task_queue": job.task_queue,
        "started": job.started,
    }
    if not job.started:
        click.echo(f"already dispatched: {job.workflow_id} (nothing new started)", err=True)
    if wait:
        try:
            summary["result"] = await job.result()
        except WorkflowFailureError as err:
            _echo_json(summary)
            raise LanesError(f"job {job.workflow_id} failed: {_cause(err)}") from None
    _echo_json(summary)


def _cause(err: BaseException) -> str:
    while err.__cause__ is not None:
        err = err.__cause__
    return str(err)


@cli.command("ping")
@click.argument("queues", nargs=-1)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait per lane.")
@run_async
async def ping_command(queues: tuple[str, ...], timeout: float) -> None:
    """Round trip a lanes.ping job through each lane (default: every installed domain)."""
    client = await get_client()
    names = list(queues) or sorted(domains.installed())

    async def one(queue: str) -> tuple[str, float | None, str]:
        started = time.perf_counter()
        job = await dispatch(
            "lanes.ping",
            task_queue=queue,
            # A lane nobody serves must not leave the ping waiting on the server forever.
            execution_timeout=timedelta(seconds=timeout),
            client=client,
        )
        try:
            result = await asyncio.wait_for(job.result(), timeout)
        except (TimeoutError, WorkflowFailureError):
            return queue, None, "no worker answered"
        return queue, (time.perf_counter() - started) * 1000, f"{result.worker}"

    results = await asyncio.gather(*(one(q) for q in names))
    failed = False
    for queue, ms, detail in results:
        if ms is None:
            failed = True
            click.echo(f"{queue:<12} DOWN     {detail} within {timeout:.0f}s")
        else:
            click.echo(f"{queue:<12} {ms:7.1f} ms  {detail}")
    if failed:
        raise LanesError("some lanes did not answer; is their worker running?")


@cli.command("worker")
@click.option(
    "--queues", default="", help="Comma-separated domains/queues (default: every installed one)."
)
@click.option("--include", multiple=True, help="Extra module with activities/workflows to serve.")
def worker_command(queues: str, include: tuple[str, ...]) -> None:
    """Run workers for several domains in one process."""
    from core.worker import run

    names = [q.strip() for q in queues.split(",") if q.strip()]
    run(names or None, include=include or None)  # none given: LANES_INCLUDE


@cli.command("check")
def check_command() -> None:
    """Load every installed domain and list what it serves; fails on a bad declaration."""
    try:
        loaded = domains.load_all()
    except (DomainError, ValueError, TypeError, ImportError) as err:
        raise LanesError(str(err)) from None
    for domain in loaded:
        click.echo(f"{domain.name} (queue {domain.task_queue}, package {domain.package})")
        for config in domain.activities:
            click.echo(f"  activity  {config.name}")
        for wf in domain.workflows:
            click.echo(f"  workflow  {wf.__temporal_workflow_definition.name}")  # type: ignore[attr-defined]


@cli.command("dev")
@click.option("--port", default=7233, show_default=True, help="Temporal frontend port.")
@click.option("--ui-port", default=8233, show_default=True, help="Temporal UI port.")
def dev_command(port: int, ui_port: int) -> None:
    """Start the Temporal dev server and every domain worker; Ctrl-C stops all of it."""
    from core import telemetry
    from core.worker import _exit

    try:
        telemetry.configure("lanes-dev")
        code = asyncio.run(_dev(port, ui_port))
    except STARTUP_ERRORS as err:
        click.echo(f"lanes: error: {err}", err=True)
        code = 1
    _exit(code)


async def _upgrade_database() -> str:
    from core.db import migrations  # SQLAlchemy + Alembic: only `lanes dev` needs them here

    return (await migrations.upgrade()).url


async def _dev(port: int, ui_port: int) -> int:
    from core.worker import FORCED_EXIT_CALLBACKS, serve

    home: Path = settings().home
    server: DevServer | None = None
    loaded = domains.load_all()
    click.echo(f"database         {await _upgrade_database()}  (migrated to head)")
    if os.environ.get("TEMPORAL_ADDRESS"):
        click.echo(f"using the Temporal server at {os.environ['TEMPORAL_ADDRESS']}")
    else:
        server = DevServer(
            port=port,
            ui_port=ui_port,
            db_file=home / "temporal.db",
            log_file=home / "temporal.log",
        )
        await server.start()
        FORCED_EXIT_CALLBACKS.append(server.stop_sync)
        os.environ["TEMPORAL_ADDRESS"] = server.address
        click.echo(f"Temporal server  {server.address}  (state in {home}/temporal.db)")
        click.echo(f"Temporal UI      {server.ui_url}")
    try:

        def ready(state: Any) -> None:
            click.echo(f"workers          {', '.join(state.queues)}  (Ctrl-C stops everything)")

        await serve(loaded, on_ready=ready)
    finally:
        if server is not None:
            await server.stop()
            click.echo("Temporal server stopped")
    return 0


if __name__ == "__main__":  # pragma: no cover
    main()
