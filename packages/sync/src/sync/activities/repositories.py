"""Small activities around the repository list: register, list, and close a sync run.

Workflows cannot touch the database (their code must replay deterministically), so these are
the workflows' hands on it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pydantic
from sqlalchemy import select, update

from core import activities, db
from core.redact import redact_text
from sync import store
from sync.errors import GITHUB_SYNC
from sync.models import Repository, SyncRun
from sync.sources.location import locate

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
    async with db.session() as s:
        repository = await store.register(s, location)
    return _info(repository)


@activities.defn(start_to_close=timedelta(seconds=30))
async def list_repositories(input: ListRepositoriesInput) -> RepositoryPage:
    """Registered repositories by id, ``limit`` at a time after ``after_id``."""
    async with db.session() as s:
        rows = (
            await s.execute(
                select(Repository)
                .where(Repository.id > input.after_id)
                .order_by(Repository.id)
                .limit(input.limit)
            )
        ).scalars()
        return RepositoryPage(repositories=[_info(r) for r in rows])


@activities.defn(start_to_close=timedelta(seconds=30))
async def record_sync_run(input: RecordSyncRunInput) -> bool:
    """Close a sync run the activity could not close itself (it timed out, or its worker died
    on the last attempt). A run already succeeded or failed is left as it is; returns whether
    the row changed."""
    error = redact_text(input.error) if input.error else None
    async with db.session() as s:
        result = await s.execute(
            update(SyncRun)
            .where(SyncRun.run_key == input.run_key, SyncRun.status.in_(("running", "retrying")))
            .values(status=input.status, error=error, finished_at=datetime.now(UTC))
        )
    return bool(getattr(result, "rowcount", 0))


def _info(repository: Repository) -> RepositoryInfo:
    return RepositoryInfo(
        id=repository.id,
        url=repository.url,
        kind=repository.kind,
        last_synced_at=store.aware(repository.last_synced_at),
    )
