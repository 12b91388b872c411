"""The sync domain's tables: repositories, their commits and pull requests, and sync runs.

Natural keys carry unique constraints (``url``; ``repository_id`` + ``sha``; ``repository_id`` +
``number``; ``run_key``) so every write is a :func:`core.db.upsert` that is safe to repeat when an
activity is retried or resumed.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import (
    Boolean,
    DateTime,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base
from core.db.retention import Retention

__all__ = ["RETENTION", "Commit", "PullRequest", "Repository", "SyncRun"]

RETENTION = [Retention("sync_runs", "finished_at", timedelta(days=90))]
"""Finished sync runs are kept 90 days (purged by the operations domain's daily cleanup)."""


class Repository(Base):
    """A repository Lanes keeps in sync: a local git checkout or one behind a GitHub-style API."""

    __tablename__ = "sync_repositories"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000), unique=True)
    kind: Mapped[str] = mapped_column(String(10))
    """``git`` (a local path or ``file://`` URL) or ``api`` (a GitHub-compatible REST API)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    last_synced_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_cursor: Mapped[str | None] = mapped_column(String(100))
    """Head commit sha of the last completed sync: where an incremental sync starts."""
    commits_etag: Mapped[str | None] = mapped_column(String(200))
    """ETag of the first commits page of the last completed API sync (If-None-Match)."""
    pulls_etag: Mapped[str | None] = mapped_column(String(200))
    """ETag of the first pull-request page of the last completed API sync."""
    pulls_updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """Newest pull-request ``updated_at`` seen: an incremental sync stops paging below it."""


class Commit(Base):
    """One commit of one repository."""

    __tablename__ = "sync_commits"
    __table_args__ = (UniqueConstraint("repository_id", "sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("sync_repositories.id", ondelete="CASCADE")
    )
    sha: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(500))
    author_email: Mapped[str] = mapped_column(String(500))
    authored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    committed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(Text)
    files_changed: Mapped[int | None] = mapped_column(Integer)
    """``None`` when the source does not say (GitHub's commit list carries no stats)."""
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)


class PullRequest(Base):
    """One pull request of one repository (API repositories only)."""

    __tablename__ = "sync_pull_requests"
    __table_args__ = (UniqueConstraint("repository_id", "number"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("sync_repositories.id", ondelete="CASCADE")
    )
    number: Mapped[int] = mapped_column(Integer)
    title: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(20))
    author: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    merged_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SyncRun(Base):
    """One sync of one repository: every attempt of one activity execution updates this row."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_key: Mapped[str] = mapped_column(String(500), unique=True)
    """``<workflow id>/<run id>/<activity id>`` of the sync: the same across retries."""
    repository_id: Mapped[int] = mapped_column(
        ForeignKey("sync_repositories.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(20))
    """``running``, ``retrying`` (an attempt failed, another follows), ``succeeded``, ``failed``."""
    full: Mapped[bool] = mapped_column(Boolean, default=False)
    attempts: Mapped[int] = mapped_column(Integer, default=1)
    commits_inserted: Mapped[int] = mapped_column(Integer, default=0)
    pulls_inserted: Mapped[int] = mapped_column(Integer, default=0)
    pulls_updated: Mapped[int] = mapped_column(Integer, default=0)
    cursor: Mapped[str | None] = mapped_column(Text)
    """The last heartbeat cursor, as JSON: where a retry resumes."""
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
