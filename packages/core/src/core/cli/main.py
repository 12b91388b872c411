"""The ``lanes`` command.

Every failure a person can cause (server unreachable, unknown activity, bad JSON, a port in use)
ends in one line on stderr that says what was wrong and what to do, and a non-zero exit: 1 for a
failure of the work or the environment, 2 for a wrong command line.
"""

from __future__ import annotations

from typing import TypeVar

import click

from core.cli.check import check_command
from core.cli.codec import codec_server_command
from core.cli.db import db as db_command
from core.cli.dev import dev_command, worker_command
from core.cli.dispatch import dispatch_command, ping_command
from core.cli.plugins import add_plugin_commands
from core.cli.schedules import schedules_group

__all__ = ["main"]

T = TypeVar("T")


@click.group()
@click.version_option(package_name="lanes-core")
def cli() -> None:
    """Lanes: durable background work on Temporal."""


for command in (
    dispatch_command,
    ping_command,
    worker_command,
    check_command,
    dev_command,
    db_command,
    schedules_group,
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
