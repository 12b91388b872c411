"""``lanes dev`` (the embedded default: dev server + every worker) and ``lanes worker``.

``lanes dev`` holds its state folder (``.lanes/`` at the workspace root, see
:func:`core.settings.workspace_root`) with a lock before it writes anything, so a second one in
the same folder stops at once naming the first one's PID instead of sharing ``temporal.db``.

Signals: the first SIGINT or SIGTERM drains the workers, then stops the server. ``uv run``
without a terminal delivers one Ctrl-C twice (it forwards the signal the process group already
got), so a repeat within :data:`core.worker.REPEAT_WINDOW` is the same signal, as for a worker;
a SIGINT after that is a person who will not wait, and exits 130 at once.

``--reload`` runs the workers as a child ``lanes worker`` process and restarts it, drained, when a
``.py`` file of a served package (or an ``--include`` module) changes; the server keeps running.
A child process, not a re-import: the activity registry and the workflow sandbox hold on to the
modules they first saw.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib.util
import os
import signal
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click

from core import domains
from core.dev.home import HomeLock
from core.dev.server import DevServer, DevServerError, _die_with_parent
from core.errors import STARTUP_ERRORS
from core.settings import private_home, settings

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
@click.option(
    "--reload", is_flag=True, help="Restart the workers (drained) when a source file changes."
)
@click.option("--include", multiple=True, help="Extra module with activities/workflows to serve.")
def dev_command(port: int, ui_port: int, reload: bool, include: tuple[str, ...]) -> None:
    """Start the Temporal dev server and every domain worker; Ctrl-C stops all of it."""
    from core import telemetry
    from core.worker import exit_process

    try:
        telemetry.configure("lanes-dev")
        code = asyncio.run(_dev(port, ui_port, reload=reload, include=include))
    except STARTUP_ERRORS as err:
        click.echo(f"lanes: error: {err}", err=True)
        code = 1
    exit_process(code)


async def _upgrade_database() -> str:
    from core.db import migrations  # SQLAlchemy + Alembic: only `lanes dev` needs them here

    return (await migrations.upgrade()).url


async def _dev(port: int, ui_port: int, *, reload: bool, include: tuple[str, ...]) -> int:
    from core.dev.services import dev_services
    from core.worker import FORCED_EXIT_CALLBACKS, serve

    home: Path = settings().home
    lock = HomeLock(home)
    lock.acquire()  # first: a second `lanes dev` here must not touch the database or server
    private_home()  # 0700, its files 0600: every job's history and the database live here
    stop = asyncio.Event()
    _install_signal_handlers(stop)
    server: DevServer | None = None
    codec: Any = None
    try:
        loaded = domains.load_all(include=include or _included())
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
        if stop.is_set():
            return 0
        async with dev_services(warn=lambda m: click.echo(f"lanes: warning: {m}", err=True)) as s:
            for name, env in s.items():
                shown = "  ".join(f"{k}={v}" for k, v in env.items())
                click.echo(f"{name + ' (dev)':<16} {shown or 'started'}")
            if reload:
                # The reloading child worker inherits os.environ, the services' settings included.
                await _serve_reloading(loaded, include, stop)
            else:

                def ready(state: Any) -> None:
                    click.echo(
                        f"workers          {', '.join(state.queues)}  (Ctrl-C stops everything)"
                    )

                await serve(loaded, stop=stop, install_signal_handlers=False, on_ready=ready)
    finally:
        if server is not None:
            await server.stop()
            click.echo("Temporal server stopped")
        if codec is not None:
            await codec.cleanup()
        lock.release()
    return 0


def _included() -> list[str]:
    return [m.strip() for m in settings().include.split(",") if m.strip()]


def _install_signal_handlers(stop: asyncio.Event) -> None:
    """The workers' rule (:func:`core.worker.install_drain_signals`), said on the terminal."""
    from core.worker import install_drain_signals

    install_drain_signals(
        stop,
        on_stop=lambda name: click.echo(
            f"{name}: draining the workers, then stopping the server", err=True
        ),
        on_forced_exit=lambda: click.echo(
            "second Ctrl-C: exiting without waiting for the drain", err=True
        ),
    )


async def _serve_reloading(
    loaded: list[domains.Domain], include: Iterable[str], stop: asyncio.Event
) -> None:
    try:
        from watchfiles import PythonFilter, awatch
    except ImportError:
        raise DevServerError(
            "--reload needs watchfiles, a dev dependency of the workspace: run `uv sync` at the "
            "repository root"
        ) from None

    include = list(include)
    folders = _source_folders([*(d.package for d in loaded), "core"], include)
    queues = ", ".join(q for d in loaded for q in d.queues)
    click.echo(f"workers          {queues}  (reloading on changes; Ctrl-C stops everything)")
    changes = awatch(*folders, watch_filter=PythonFilter(), stop_event=stop)
    while not stop.is_set():
        child = await _start_workers(include)
        exited = asyncio.ensure_future(child.wait())
        changed = asyncio.ensure_future(anext(changes, None))
        stopped = asyncio.ensure_future(stop.wait())
        await asyncio.wait([exited, changed, stopped], return_when=asyncio.FIRST_COMPLETED)
        if not exited.done():
            with contextlib.suppress(ProcessLookupError):
                child.send_signal(signal.SIGTERM)  # drain, as a deploy would
            await exited
        else:
            click.echo(
                f"workers exited with code {exited.result()}; restarting on the next change",
                err=True,
            )
            await asyncio.wait([changed, stopped], return_when=asyncio.FIRST_COMPLETED)
        stopped.cancel()
        if stop.is_set():
            changed.cancel()
            break
        paths = sorted({Path(p).name for _, p in (changed.result() or ())})
        click.echo(f"workers          restarted after a change to {', '.join(paths)}")


async def _start_workers(include: list[str]) -> asyncio.subprocess.Process:
    args = [sys.executable, "-m", "core.cli.main", "worker"]
    for module in include:
        args += ["--include", module]
    # Its own session: only `lanes dev` signals it (a terminal's Ctrl-C reaches `lanes dev`,
    # which then drains it), so it never gets a Ctrl-C twice.
    return await asyncio.create_subprocess_exec(
        *args, start_new_session=True, preexec_fn=_die_with_parent
    )


def _source_folders(packages: Iterable[str], modules: Iterable[str]) -> list[Path]:
    folders: set[Path] = set()
    for name in packages:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.submodule_search_locations:
            folders.update(Path(p) for p in spec.submodule_search_locations)
    for name in modules:
        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            folders.add(Path(spec.origin).parent)
    return sorted(folders)


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
