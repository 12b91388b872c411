"""The analysis domain's tables (prefix ``analysis_``).

- ``analysis_commits`` — the commit facts analysis received (by value, from sync's hand-off or any
  caller): what a re-analysis with another analyzer or prompt version reads again.
- ``analysis_commit_analyses`` — one row per (repository, sha, analyzer, prompt version): the
  cache key. A commit already analysed by the same analyzer and prompt costs no model call.
- ``analysis_pull_request_analyses`` — per (repository, number, revision, analyzer, prompt
  version).
- ``analysis_developer_profiles`` — one per author email, rebuilt from that author's analyses.
- ``analysis_model_calls`` — one row per model request: model, tokens in/out, latency, outcome,
  and the reason of a failure.

Natural keys carry unique constraints, so every write is a :func:`core.db.upsert` that is safe
to repeat when an activity is retried.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, DateTime, Index, Integer, String, Text, UniqueConstraint, func
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

__all__ = [
    "CommitAnalysis",
    "DeveloperProfile",
    "ModelCall",
    "PullRequestAnalysis",
    "ReceivedCommit",
]


class ReceivedCommit(Base):
    """A commit's facts as analysis received them."""

    __tablename__ = "analysis_commits"
    __table_args__ = (UniqueConstraint("repository", "sha"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    repository: Mapped[str] = mapped_column(String(2000))
    sha: Mapped[str] = mapped_column(String(64))
    author_name: Mapped[str] = mapped_column(String(500))
    author_email: Mapped[str] = mapped_column(String(500), index=True)
    authored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    message: Mapped[str] = mapped_column(Text)
    paths: Mapped[list[str]] = mapped_column(JSON)
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    files_changed: Mapped[int | None] = mapped_column(Integer)
    received_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now()
    )


class CommitAnalysis(Base):
    """What one analyzer (with one prompt version) said about one commit."""

    __tablename__ = "analysis_commit_analyses"
    __table_args__ = (
        UniqueConstraint("repository", "sha", "analyzer", "prompt_version"),
        Index("ix_analysis_commit_analyses_author", "author_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    repository: Mapped[str] = mapped_column(String(2000))
    sha: Mapped[str] = mapped_column(String(64))
    analyzer: Mapped[str] = mapped_column(String(200))
    """``builtin`` (the deterministic heuristics) or ``llm:<model>``."""
    prompt_version: Mapped[str] = mapped_column(String(50))
    author_email: Mapped[str] = mapped_column(String(500))
    authored_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    kind: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    areas: Mapped[list[str]] = mapped_column(JSON)
    languages: Mapped[list[str]] = mapped_column(JSON)
    size: Mapped[str] = mapped_column(String(10))
    risk: Mapped[str] = mapped_column(String(10))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class PullRequestAnalysis(Base):
    """What one analyzer said about one revision of one pull request."""

    __tablename__ = "analysis_pull_request_analyses"
    __table_args__ = (
        UniqueConstraint("repository", "number", "revision", "analyzer", "prompt_version"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    repository: Mapped[str] = mapped_column(String(2000))
    number: Mapped[int] = mapped_column(Integer)
    revision: Mapped[str] = mapped_column(String(100))
    analyzer: Mapped[str] = mapped_column(String(200))
    prompt_version: Mapped[str] = mapped_column(String(50))
    title: Mapped[str] = mapped_column(Text)
    author: Mapped[str | None] = mapped_column(String(500))
    kind: Mapped[str] = mapped_column(String(20))
    summary: Mapped[str] = mapped_column(Text)
    areas: Mapped[list[str]] = mapped_column(JSON)
    risk: Mapped[str] = mapped_column(String(10))
    review_focus: Mapped[list[str]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class DeveloperProfile(Base):
    """One developer (by author email), from the latest analysis of each of their commits."""

    __tablename__ = "analysis_developer_profiles"

    id: Mapped[int] = mapped_column(primary_key=True)
    author_email: Mapped[str] = mapped_column(String(500), unique=True)
    author_name: Mapped[str] = mapped_column(String(500))
    commits: Mapped[int] = mapped_column(Integer)
    """Distinct commits counted. Only grows, so a rebuild that saw fewer never overwrites one
    that saw more (see :func:`analysis.store.save_profile`)."""
    first_commit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_commit_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    languages: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Language → commits touching it."""
    areas: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Area → commits touching it."""
    kinds: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Kind of work → commits."""
    activity: Mapped[dict[str, Any]] = mapped_column(JSON)
    """Month (``YYYY-MM``) → commits authored."""
    repositories: Mapped[list[str]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ModelCall(Base):
    """One model request: what it cost and how it ended."""

    __tablename__ = "analysis_model_calls"

    id: Mapped[int] = mapped_column(primary_key=True)
    model: Mapped[str] = mapped_column(String(200))
    subject: Mapped[str] = mapped_column(String(2200), index=True)
    """What was analysed: ``commit <repository>@<sha>`` or ``pull <repository>#<number>``."""
    outcome: Mapped[str] = mapped_column(String(30))
    """``ok``, ``rate_limited`` (waited out), ``server_error``, ``timeout``, ``rejected``
    (400/401/403/404), ``invalid_output``, ``error``, ``cancelled`` (in flight when another call
    of the batch failed or the attempt was cancelled)."""
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    latency_ms: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
    attempt: Mapped[int] = mapped_column(Integer, default=1)
    """The activity attempt that made the call."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
