"""``lanes dev`` (the embedded default: dev server + every worker) and ``lanes worker``."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

import click

from core import domains
from core.dev.server import DevServer
from core.errors import STARTUP_ERRORS
from core.settings import private_home

__all__ = ["dev_command", "worker_command"]


@click.command("worker")
@click.option(
    "--queues", default="", help="Comma-separated domains/queues (default: every installed one)."
)
@click.option("--include", multiple=True, help="Extra module with activities/workflows to serve.")
def worker_command(queues: str, include: tuple[str, ...]) -> None:
    """Run workers for several domains in one process."""
    from core.worker import run

    names = [q.strip() for q in queues.split(",") if q.strip()]
    run(names or None, include=include or None)  # none given: LANES_INCLUDE


@click.command("dev")
@click.option("--port", default=7233, show_default=True, help="Temporal frontend port.")
@click.option("--ui-port", default=8233, show_default=True, help="Temporal UI port.")
def dev_command(port: int, ui_port: int) -> None:
    """Start the Temporal dev server and every domain worker; Ctrl-C stops all of it."""
    from core import telemetry
    from core.worker import exit_process

    try:
        telemetry.configure("lanes-dev")
        code = asyncio.run(_dev(port, ui_port))
    except STARTUP_ERRORS as err:
        click.echo(f"lanes: error: {err}", err=True)
        code = 1
    exit_process(code)


async def _upgrade_database() -> str:
    from core.db import migrations  # SQLAlchemy + Alembic: only `lanes dev` needs them here

    return (await migrations.upgrade()).url


async def _dev(port: int, ui_port: int) -> int:
    from core.worker import FORCED_EXIT_CALLBACKS, serve

    home: Path = private_home()  # 0700, files 0600
    server: DevServer | None = None
    codec: Any = None
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
        codec = await _start_codec_server(server)
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
        if codec is not None:
            await codec.cleanup()
    return 0


async def _start_codec_server(server: DevServer) -> Any:
    """With LANES_ENCRYPTION_KEYS set, a codec server the UI decodes payloads through."""
    from core.codec_server import start_for_dev

    started = await start_for_dev(server.ui_url)
    if started is None:
        return None
    runner, endpoint = started
    server.extra_args = (*server.extra_args, "--ui-codec-endpoint", endpoint)
    click.echo(f"codec server     {endpoint.rsplit('/t/', 1)[0]}  (the UI decodes payloads)")
    return runner
