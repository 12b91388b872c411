"""Small activities around the repository list: register, list, and close a sync run.

Workflows cannot touch the database (their code must replay deterministically), so these are
the workflows' hands on it. The store (SQLAlchemy and the models) is imported when the first job
needs it (:func:`core.activities.preload`), not when the worker starts.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

import pydantic

from core import activities, db
from core.redact import redact_text
from sync.errors import GITHUB_SYNC
from sync.sources.location import locate

if TYPE_CHECKING:
    from sync.models import Repository

STORE = ("core.db.engine", "sync.store")
"""What these activities' bodies import, on first use."""

__all__ = [
    "ListRepositoriesInput",
    "RecordSyncRunInput",
    "RegisterRepositoryInput",
    "RepositoryInfo",
    "RepositoryPage",
    "list_repositories",
    "record_sync_run",
    "register_repository",
]


class RegisterRepositoryInput(pydantic.BaseModel):
    url: str
    """Any form :func:`sync.sources.location.locate` accepts."""


class RepositoryInfo(pydantic.BaseModel):
    id: int
    url: str
    kind: str
    last_synced_at: datetime | None = None


class ListRepositoriesInput(pydantic.BaseModel):
    after_id: int = 0
    """Only repositories with a larger id (keyset paging). Default: from the first."""
    limit: int = pydantic.Field(default=100, ge=1, le=10_000)


class RepositoryPage(pydantic.BaseModel):
    repositories: list[RepositoryInfo]


class RecordSyncRunInput(pydantic.BaseModel):
    run_key: str
    status: str
    error: str | None = None


@activities.defn(retry=GITHUB_SYNC, start_to_close=timedelta(seconds=30))
async def register_repository(input: RegisterRepositoryInput) -> RepositoryInfo:
    """Register a repository (a no-op when it is registered already) and return its row."""
    location = locate(input.url)
    await activities.preload(*STORE)
    from sync import store

    async with db.session() as s:
        repository = await store.register(s, location)
    return _info(repository)


@activities.defn(start_to_close=timedelta(seconds=30))
async def list_repositories(input: ListRepositoriesInput) -> RepositoryPage:
    """Registered repositories by id, ``limit`` at a time after ``after_id``."""
    await activities.preload(*STORE)
    from sync import store

    async with db.session() as s:
        rows = await store.repositories_after(s, input.after_id, input.limit)
        return RepositoryPage(repositories=[_info(r) for r in rows])


@activities.defn(start_to_close=timedelta(seconds=30))
async def record_sync_run(input: RecordSyncRunInput) -> bool:
    """Close a sync run the activity could not close itself (it timed out, or its worker died
    on the last attempt). A run already succeeded or failed is left as it is; returns whether
    the row changed."""
    error = redact_text(input.error) if input.error else None
    await activities.preload(*STORE)
    from sync import store

    async with db.session() as s:
        return await store.close_run(s, input.run_key, input.status, error)


def _info(repository: Repository) -> RepositoryInfo:
    from sync import store  # loaded by the activity that calls this

    return RepositoryInfo(
        id=repository.id,
        url=repository.url,
        kind=repository.kind,
        last_synced_at=store.aware(repository.last_synced_at),
    )
