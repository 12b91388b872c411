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

__all__ = ["monitors", "webhooks"]


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
