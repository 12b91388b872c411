"""``lanes mail``: the outbox of the local sink, the suppression list, campaigns, warming.

Added to ``lanes`` by the ``lanes.cli`` entry point (see ``packages/email/pyproject.toml``), so
core does not import this domain. Heavy imports happen inside the commands: every ``lanes``
invocation loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import click

from core.cli.support import LanesError, run_async

__all__ = ["mail"]


async def _dispose() -> None:
    from core.db import dispose_engines

    await dispose_engines()


def _with_db(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    return run_async(fn, cleanup=_dispose)


@click.group("mail")
def mail() -> None:
    """Email: the local outbox, suppressions, campaigns and domain warming."""


@mail.command("outbox")
@click.option("--limit", default=20, show_default=True, help="Newest messages to list.")
def outbox_command(limit: int) -> None:
    """Messages the local sink of `lanes dev` received (to, subject, time), newest first."""
    from mail.outbox import read_outbox
    from mail.settings import mail_settings

    directory = mail_settings().outbox_dir()
    entries = read_outbox(directory, limit=limit)
    if not entries:
        click.echo(f"no messages in {directory}")
        return
    click.echo(f"{'time (UTC)':<20} {'to':<32} subject")
    for e in entries:
        click.echo(f"{e.time:%Y-%m-%d %H:%M:%S} {e.to:<32} {e.subject}")
    click.echo(f"({len(entries)} shown; files in {directory})")


@mail.command("suppress")
@click.argument("addresses", nargs=-1, required=True)
@click.option(
    "--reason",
    type=click.Choice(["unsubscribed", "hard_bounce", "manual"]),
    default="manual",
    show_default=True,
)
@_with_db
async def suppress_command(addresses: tuple[str, ...], reason: str) -> None:
    """Never send to ADDRESSES again (a send to them is a recorded skip)."""
    from core import db
    from mail import store

    normalized = [_address(a) for a in addresses]
    async with db.session() as s:
        for address in normalized:
            await store.suppress(s, address, reason)
    click.echo(f"suppressed {len(normalized)} address(es)")


@mail.command("unsuppress")
@click.argument("address")
@_with_db
async def unsuppress_command(address: str) -> None:
    """Take ADDRESS off the suppression list."""
    from core import db
    from mail import store

    async with db.session() as s:
        removed = await store.unsuppress(s, _address(address))
    if not removed:
        raise LanesError(f"{address} is not on the suppression list")
    click.echo(f"{address} may be sent to again")


def _address(address: str) -> str:
    from temporalio.exceptions import ApplicationError

    from mail.addresses import normalize

    try:
        return normalize(address)
    except ApplicationError as err:
        raise LanesError(err.message) from None
