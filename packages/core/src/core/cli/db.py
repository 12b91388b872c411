"""``lanes db``: migrate the database and write migrations.

``upgrade`` / ``downgrade`` / ``current`` act on ``LANES_DATABASE_URL`` (default: the SQLite file
under ``LANES_HOME``); ``revision --domain D -m MSG`` writes a migration into domain D's own
``migrations/versions`` folder, compared against that database.

Heavy imports (SQLAlchemy, Alembic) happen inside the commands: every other ``lanes`` command
loads this module too.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any, TypeVar

import click

from core.cli.support import LanesError, run_async

if TYPE_CHECKING:
    from core.db.migrations import SchemaStatus

__all__ = ["db"]

T = TypeVar("T")


async def _dispose_engines() -> None:
    from core.db.engine import dispose_engines

    await dispose_engines()


def _async(fn: Callable[..., Coroutine[Any, Any, T]]) -> Callable[..., T]:
    return run_async(fn, cleanup=_dispose_engines)


@click.group("db")
def db() -> None:
    """Database migrations (Alembic) for core and every installed domain."""


@db.command("upgrade")
@click.argument("target", default="heads")
@_async
async def upgrade_command(target: str) -> None:
    """Apply migrations up to TARGET (default: every branch's head)."""
    from core.db import migrations

    _show(await migrations.upgrade(target))


@db.command("downgrade")
@click.argument("target")
@_async
async def downgrade_command(target: str) -> None:
    """Undo migrations down to TARGET: base, DOMAIN@base, -1 or a revision."""
    from core.db import migrations

    _show(await migrations.downgrade(target))


@db.command("current")
@_async
async def current_command() -> None:
    """Show each branch's applied revision; exit 1 when the schema is not up to date."""
    from core.db import migrations

    status = await migrations.current()
    _show(status)
    if not status.up_to_date:
        raise LanesError("the schema is not up to date; run `lanes db upgrade`")


@db.command("revision")
@click.option("--domain", "owner", required=True, help="Owner of the migration: core or a domain.")
@click.option("-m", "--message", required=True, help="What the migration does.")
@click.option(
    "--autogenerate/--empty",
    default=True,
    show_default=True,
    help="Compare the domain's models with the database, or write an empty script.",
)
@_async
async def revision_command(owner: str, message: str, autogenerate: bool) -> None:
    """Write a new migration for a domain's tables into its migrations/versions folder."""
    from core.db import migrations

    path = await migrations.revision(owner, message, autogenerate=autogenerate)
    click.echo(f"wrote {path}")


def _show(status: SchemaStatus) -> None:
    click.echo(f"database  {status.url}")
    for branch, head in status.heads.items():
        applied = status.branches.get(branch)
        state = "up to date" if applied == head else f"behind (head {head})"
        click.echo(f"  {branch:<12} {applied or '-':<14} {state}")
    for rev in status.unknown:
        click.echo(f"  {'?':<12} {rev:<14} unknown to this code (migrated by a newer release)")
