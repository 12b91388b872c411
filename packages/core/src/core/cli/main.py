"""The ``lanes`` command.

Every failure a person can cause (server unreachable, unknown activity, bad JSON, a port in use)
ends in one line on stderr that says what was wrong and what to do, and a non-zero exit: 1 for a
failure of the work or the environment, 2 for a wrong command line.

Tracing: every command honours the ``OTEL_*`` variables like a worker does (service
``lanes-cli``), so a job dispatched from a shell is one trace with the worker's spans. ``lanes dev``
and ``lanes worker`` configure telemetry themselves, under their own service names.
"""

from __future__ import annotations

from typing import TypeVar

import click

from core.cli.check import check_command
from core.cli.codec import codec_server_command
from core.cli.db import db as db_command
from core.cli.dev import dev_command, worker_command
from core.cli.dispatch import dispatch_command, ping_command
from core.cli.doctor import doctor_command
from core.cli.history import history_group, replay_command
from core.cli.jobs import jobs_group
from core.cli.new import new_group
from core.cli.plugins import add_plugin_commands
from core.cli.schedules import schedules_group

__all__ = ["main"]

T = TypeVar("T")


_CONFIGURE_THEMSELVES = frozenset({"dev", "worker"})
"""Commands that run workers and call ``telemetry.configure`` with their own service name."""


@click.group()
@click.version_option(package_name="lanes-core")
@click.pass_context
def cli(ctx: click.Context) -> None:
    """Lanes: durable background work on Temporal."""
    if ctx.invoked_subcommand not in _CONFIGURE_THEMSELVES:
        from core.cli.support import LanesError
        from core.telemetry import TelemetryConfigError, configure_tracing

        try:
            # Before any client connects: the client adds the tracing interceptor only when a
            # tracer provider is installed (core.telemetry.client_options).
            configure_tracing("lanes-cli")
        except TelemetryConfigError as err:
            raise LanesError(str(err)) from None


for command in (
    dispatch_command,
    ping_command,
    worker_command,
    check_command,
    dev_command,
    db_command,
    schedules_group,
    history_group,
    replay_command,
    doctor_command,
    new_group,
    jobs_group,
    codec_server_command,
):
    cli.add_command(command)
add_plugin_commands(cli)  # domains' own groups (`lanes repos`), by the `lanes.cli` entry point


def main() -> None:
    """Entry point of ``lanes``: run the command, then end the process deliberately.

    Ends with ``os._exit`` (via :func:`core.worker.exit_process`) because the SDK's Rust runtime
    has been seen to abort the interpreter at exit (``PyGILState_Release``) once a client was
    used.
    """
    from core.worker import exit_process

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
    exit_process(code if isinstance(code, int) else 0)


if __name__ == "__main__":  # pragma: no cover
    main()
