"""``lanes repos``: register, list and sync repositories from the shell.

Added to ``lanes`` by the ``lanes.cli`` entry point (see ``packages/sync/pyproject.toml``), so core
does not import this domain. Heavy imports (SQLAlchemy, the workflows) happen inside the
commands: every ``lanes`` invocation loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from typing import Any

import click

from core.cli.support import LanesError, run_async

__all__ = ["repos"]


async def _dispose() -> None:
    from core.db import dispose_engines

    await dispose_engines()


def _with_db(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    # Pooled connections are closed on the command's own loop, before it ends.
    return run_async(fn, cleanup=_dispose)


@click.group("repos")
def repos() -> None:
    """Repositories the sync domain keeps up to date."""


@repos.command("add")
@click.argument("urls", nargs=-1, required=True)
@_with_db
async def add_command(urls: tuple[str, ...]) -> None:
    """Register URLS (local git paths, https://github.com/OWNER/NAME, <api>/repos/OWNER/NAME)."""
    from core import db
    from sync import store

    locations = [_locate(url) for url in urls]  # all valid, or nothing is registered
    async with db.session() as s:
        for location in locations:
            repository = await store.register(s, location)
            click.echo(f"{repository.id:>5}  {repository.kind:<4} {repository.url}")


@repos.command("list")
@_with_db
async def list_command() -> None:
    """Every registered repository: id, kind, commits stored, last synced, URL."""
    from sqlalchemy import func, select

    from core import db
    from sync.models import Commit, Repository

    async with db.session() as s:
        rows = (
            await s.execute(
                select(Repository, func.count(Commit.id))
                .outerjoin(Commit, Commit.repository_id == Repository.id)
                .group_by(Repository.id)
                .order_by(Repository.id)
            )
        ).all()
    click.echo(f"{'id':>5}  {'kind':<4} {'commits':>8}  {'last synced':<20} url")
    for repository, commits in rows:
        synced = repository.last_synced_at
        when = synced.strftime("%Y-%m-%d %H:%M:%S") if synced else "never"
        click.echo(
            f"{repository.id:>5}  {repository.kind:<4} {commits:>8}  {when:<20} {repository.url}"
        )


@repos.command("sync")
@click.argument("url")
@click.option("--full", is_flag=True, help="Read the whole history again.")
@click.option("--wait", is_flag=True, help="Wait for the sync and print its counts.")
@_with_db
async def sync_command(url: str, full: bool, wait: bool) -> None:
    """Sync URL now (registering it first), as workflow sync-repo-<id>."""
    from temporalio.client import WorkflowFailureError
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from core import db
    from core.client import get_client
    from sync import TASK_QUEUE, store
    from sync.workflows import SyncRepositoryWorkflow
    from sync.workflows.sync_repository import SyncRepositoryRequest

    async with db.session() as s:
        repository = await store.register(s, _locate(url))
    client = await get_client()
    workflow_id = f"sync-repo-{repository.id}"
    try:
        handle = await client.start_workflow(
            SyncRepositoryWorkflow.run,
            SyncRepositoryRequest(url=repository.url, full=full),
            id=workflow_id,
            task_queue=TASK_QUEUE,
        )
    except WorkflowAlreadyStartedError:
        raise LanesError(f"{repository.url} is being synced already ({workflow_id})") from None
    click.echo(f"started {workflow_id}")
    if wait:
        try:
            result: Any = await handle.result()
        except WorkflowFailureError as err:
            cause: BaseException = err
            while cause.__cause__ is not None:  # workflow <- activity <- the error itself
                cause = cause.__cause__
            raise LanesError(f"sync of {repository.url} failed: {cause}") from None
        click.echo(result.model_dump_json(indent=2))


def _locate(url: str) -> Any:
    from temporalio.exceptions import ApplicationError

    from sync.sources.location import locate

    try:
        return locate(url)
    except ApplicationError as err:
        raise LanesError(err.message) from None
