"""The sync domain's writes, shared by its activities: every one an upsert, safe to repeat."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import upsert
from core.redact import redact_text
from sync.models import Commit, PullRequest, Repository, SyncRun
from sync.sources.batch import Cursor
from sync.sources.location import Location

__all__ = [
    "aware",
    "close_run",
    "known_state",
    "register",
    "repositories_after",
    "run_counts",
    "save_repository_state",
    "start_run",
    "update_run",
    "write_batch",
]


def aware(value: datetime | None) -> datetime | None:
    """``value`` in UTC; SQLite hands back naive datetimes, which Lanes always stores in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def register(s: AsyncSession, location: Location) -> Repository:
    """The repository row for ``location``, inserted when new."""
    await upsert(
        s, Repository, [{"url": location.url, "kind": location.kind}], key=["url"], update=()
    )
    return (await s.execute(select(Repository).where(Repository.url == location.url))).scalar_one()


def known_state(repository: Repository) -> dict[str, Any]:
    """What the last completed sync stored: where an incremental sync starts."""
    updated = aware(repository.pulls_updated_at)
    return {
        "head": repository.last_cursor,
        "commits_etag": repository.commits_etag,
        "pulls_etag": repository.pulls_etag,
        "pulls_updated_at": updated.isoformat() if updated else None,
    }


async def start_run(
    s: AsyncSession, run_key: str, repository_id: int, *, full: bool, attempt: int
) -> None:
    """Create the run row, or mark an existing one running again (a retry)."""
    await upsert(
        s,
        SyncRun,
        [
            {
                "run_key": run_key,
                "repository_id": repository_id,
                "status": "running",
                "full": full,
                "attempts": attempt,
                "error": None,
                "finished_at": None,
            }
        ],
        key=["run_key"],
        update=["status", "attempts", "error", "finished_at"],
    )


async def run_counts(s: AsyncSession, run_key: str) -> dict[str, int]:
    """What earlier attempts of this run inserted, as committed with their rows."""
    row = (await s.execute(select(SyncRun).where(SyncRun.run_key == run_key))).scalar_one()
    return {
        "commits": row.commits_inserted,
        "pulls": row.pulls_inserted,
        "pulls_updated": row.pulls_updated,
    }


async def repositories_after(s: AsyncSession, after_id: int, limit: int) -> list[Repository]:
    """Up to ``limit`` registered repositories with an id above ``after_id``, by id."""
    rows = await s.execute(
        select(Repository).where(Repository.id > after_id).order_by(Repository.id).limit(limit)
    )
    return list(rows.scalars())


async def close_run(s: AsyncSession, run_key: str, status: str, error: str | None) -> bool:
    """Set a run still running (or retrying) to ``status``; whether a row changed."""
    result = await s.execute(
        update(SyncRun)
        .where(SyncRun.run_key == run_key, SyncRun.status.in_(("running", "retrying")))
        .values(status=status, error=error, finished_at=datetime.now(UTC))
    )
    return bool(getattr(result, "rowcount", 0))


async def update_run(s: AsyncSession, run_key: str, **values: Any) -> None:
    """Set columns of the run row (``cursor`` may be given as a dict; ``error`` is redacted)."""
    if values.get("error"):
        values["error"] = redact_text(values["error"])
    if isinstance(values.get("cursor"), dict):
        values["cursor"] = json.dumps(values["cursor"], sort_keys=True)
    await s.execute(update(SyncRun).where(SyncRun.run_key == run_key).values(**values))


async def write_batch(
    s: AsyncSession,
    repository_id: int,
    commits: list[dict[str, Any]],
    pulls: list[dict[str, Any]],
) -> tuple[int, int, int]:
    """Upsert one batch; returns (commits inserted, pulls inserted, pulls updated)."""
    commits_inserted = pulls_inserted = pulls_updated = 0
    if commits:
        # A commit never changes: existing rows are left alone.
        result = await upsert(
            s,
            Commit,
            # `paths` rides along for the analysis hand-off; it is not a column.
            [{"repository_id": repository_id, **_without(c, "paths")} for c in commits],
            key=["repository_id", "sha"],
            update=(),
        )
        commits_inserted = result.inserted
    if pulls:
        result = await upsert(
            s,
            PullRequest,
            [{"repository_id": repository_id, **p} for p in pulls],
            key=["repository_id", "number"],
        )
        pulls_inserted, pulls_updated = result.inserted, result.updated
    return commits_inserted, pulls_inserted, pulls_updated


def _without(row: dict[str, Any], key: str) -> dict[str, Any]:
    return {k: v for k, v in row.items() if k != key} if key in row else row


async def save_repository_state(s: AsyncSession, repository_id: int, cursor: Cursor) -> None:
    """Record a completed sync on the repository: the next incremental sync starts here."""
    values: dict[str, Any] = {"last_synced_at": datetime.now(UTC), "last_cursor": cursor["head"]}
    if cursor.get("source") == "api":
        updated = cursor.get("pulls_updated_at")
        values.update(
            commits_etag=cursor.get("commits_etag"),
            pulls_etag=cursor.get("pulls_etag"),
            pulls_updated_at=datetime.fromisoformat(updated) if updated else None,
        )
    await s.execute(update(Repository).where(Repository.id == repository_id).values(**values))
