"""The analysis domain's reads and writes, shared by its activities: every write safe to repeat."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import and_, func, insert, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from analysis.analyzers.base import CallRecord
from analysis.models import (
    CommitAnalysis,
    DeveloperProfile,
    ModelCall,
    PullRequestAnalysis,
    ReceivedCommit,
)
from analysis.schema import CommitData, CommitInsight
from core.db import upsert

__all__ = [
    "analysed_shas",
    "authors",
    "aware",
    "build_profile",
    "commit_data",
    "receive_commits",
    "record_calls",
    "save_commit_analyses",
    "save_profile",
    "unanalysed",
]


def aware(value: datetime | None) -> datetime | None:
    """``value`` in UTC; SQLite hands back naive datetimes, which Lanes always stores in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def receive_commits(s: AsyncSession, commits: Sequence[CommitData]) -> int:
    """Keep the commits' facts (a commit never changes: known ones are left alone)."""
    if not commits:
        return 0
    rows = [
        {
            **c.model_dump(exclude={"files_changed"}),
            "files_changed": c.files_changed if c.files_changed is not None else len(c.paths),
        }
        for c in commits
    ]
    result = await upsert(s, ReceivedCommit, rows, key=["repository", "sha"], update=())
    return result.inserted


async def analysed_shas(
    s: AsyncSession, repository: str, shas: Iterable[str], analyzer: str, prompt_version: str
) -> set[str]:
    """Which of ``shas`` this analyzer and prompt version have analysed already: the cache."""
    wanted = list(shas)
    found: set[str] = set()
    for start in range(0, len(wanted), 500):
        found.update(
            (
                await s.execute(
                    select(CommitAnalysis.sha).where(
                        CommitAnalysis.repository == repository,
                        CommitAnalysis.analyzer == analyzer,
                        CommitAnalysis.prompt_version == prompt_version,
                        CommitAnalysis.sha.in_(wanted[start : start + 500]),
                    )
                )
            ).scalars()
        )
    return found


async def save_commit_analyses(
    s: AsyncSession,
    analyzed: Sequence[tuple[CommitData, CommitInsight]],
    analyzer: str,
    prompt_version: str,
) -> int:
    """Store insights; one already stored under the same key is kept. Returns rows inserted."""
    if not analyzed:
        return 0
    rows = [
        {
            "repository": data.repository,
            "sha": data.sha,
            "analyzer": analyzer,
            "prompt_version": prompt_version,
            "author_email": data.author_email,
            "authored_at": data.authored_at,
            **insight.model_dump(),
        }
        for data, insight in analyzed
    ]
    result = await upsert(
        s,
        CommitAnalysis,
        rows,
        key=["repository", "sha", "analyzer", "prompt_version"],
        update=(),
    )
    return result.inserted


async def record_calls(s: AsyncSession, calls: Sequence[CallRecord], attempt: int) -> None:
    """One usage row per model request."""
    if calls:
        await s.execute(insert(ModelCall), [{**vars(c), "attempt": attempt} for c in calls])


async def unanalysed(
    s: AsyncSession,
    repository: str,
    analyzer: str,
    prompt_version: str,
    *,
    after_id: int,
    limit: int,
) -> list[ReceivedCommit]:
    """Received commits of ``repository`` with no analysis by this analyzer and prompt version,
    by id after ``after_id`` (keyset paging)."""
    done = and_(
        CommitAnalysis.repository == ReceivedCommit.repository,
        CommitAnalysis.sha == ReceivedCommit.sha,
        CommitAnalysis.analyzer == analyzer,
        CommitAnalysis.prompt_version == prompt_version,
    )
    query = (
        select(ReceivedCommit)
        .outerjoin(CommitAnalysis, done)
        .where(
            ReceivedCommit.repository == repository,
            ReceivedCommit.id > after_id,
            CommitAnalysis.id.is_(None),
        )
        .order_by(ReceivedCommit.id)
        .limit(limit)
    )
    return list((await s.execute(query)).scalars())


def commit_data(row: ReceivedCommit) -> CommitData:
    """A stored commit as analysis input."""
    authored = aware(row.authored_at)
    assert authored is not None
    return CommitData(
        repository=row.repository,
        sha=row.sha,
        author_name=row.author_name,
        author_email=row.author_email,
        authored_at=authored,
        message=row.message,
        paths=list(row.paths),
        additions=row.additions,
        deletions=row.deletions,
        files_changed=row.files_changed,
    )


async def stored_commits(s: AsyncSession, ids: Sequence[int]) -> list[CommitData]:
    """The commits analysis holds with these ids."""
    rows = (await s.execute(select(ReceivedCommit).where(ReceivedCommit.id.in_(ids)))).scalars()
    return [commit_data(r) for r in rows]


async def authors_after(
    s: AsyncSession, after: str, limit: int, repository: str | None = None
) -> list[str]:
    """Up to ``limit`` author emails with analysed commits sorting after ``after``."""
    query = (
        select(CommitAnalysis.author_email)
        .distinct()
        .where(CommitAnalysis.author_email > after)
        .order_by(CommitAnalysis.author_email)
        .limit(limit)
    )
    if repository is not None:
        query = query.where(CommitAnalysis.repository == repository)
    return list((await s.execute(query)).scalars())


async def pull_request_analysis(s: AsyncSession, key: dict[str, Any]) -> PullRequestAnalysis | None:
    """The stored analysis of one pull request revision by one analyzer, if any."""
    query = select(PullRequestAnalysis).where(
        *(getattr(PullRequestAnalysis, k) == v for k, v in key.items())
    )
    return (await s.execute(query)).scalar_one_or_none()


async def save_pull_request_analysis(
    s: AsyncSession, key: dict[str, Any], row: dict[str, Any]
) -> None:
    """Store one pull request analysis (kept as it is when stored already)."""
    await upsert(s, PullRequestAnalysis, [{**key, **row}], key=list(key), update=())


async def authors(s: AsyncSession, repository: str | None = None) -> list[str]:
    """Author emails with analysed commits (of ``repository``, or anywhere), sorted."""
    query = select(CommitAnalysis.author_email).distinct().order_by(CommitAnalysis.author_email)
    if repository is not None:
        query = query.where(CommitAnalysis.repository == repository)
    return list((await s.execute(query)).scalars())


async def build_profile(s: AsyncSession, author_email: str) -> dict[str, Any] | None:
    """The profile row of ``author_email`` from the latest analysis of each of their commits;
    ``None`` when they have none."""
    analyses = (
        await s.execute(
            select(CommitAnalysis)
            .where(CommitAnalysis.author_email == author_email)
            .order_by(CommitAnalysis.created_at, CommitAnalysis.id)
        )
    ).scalars()
    latest: dict[tuple[str, str], CommitAnalysis] = {}
    for row in analyses:  # later rows (a newer analyzer or prompt) replace earlier ones
        latest[(row.repository, row.sha)] = row
    if not latest:
        return None
    name = await s.scalar(
        select(ReceivedCommit.author_name)
        .where(ReceivedCommit.author_email == author_email)
        .order_by(ReceivedCommit.authored_at.desc())
        .limit(1)
    )
    rows = list(latest.values())
    when = [t for r in rows if (t := aware(r.authored_at)) is not None]
    return {
        "author_email": author_email,
        "author_name": name or author_email,
        "commits": len(rows),
        "first_commit_at": min(when),
        "last_commit_at": max(when),
        "languages": dict(Counter(lang for r in rows for lang in r.languages).most_common()),
        "areas": dict(Counter(area for r in rows for area in r.areas).most_common(20)),
        "kinds": dict(Counter(r.kind for r in rows).most_common()),
        "activity": dict(sorted(Counter(t.strftime("%Y-%m") for t in when).items())),
        "repositories": sorted({r.repository for r in rows}),
        "updated_at": datetime.now(UTC),
    }


async def save_profile(s: AsyncSession, profile: dict[str, Any]) -> bool:
    """Insert or update a profile, unless the stored one counts more commits (a rebuild that
    read before another batch committed must not overwrite a newer one). Returns whether it
    was written."""
    dialect = s.bind.dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(DeveloperProfile).values(**profile)
    statement = statement.on_conflict_do_update(
        index_elements=["author_email"],
        set_={k: statement.excluded[k] for k in profile if k != "author_email"},
        where=DeveloperProfile.commits <= statement.excluded.commits,
    )
    result = await s.execute(statement)
    return bool(getattr(result, "rowcount", 0))


async def count_analyses(s: AsyncSession, repository: str) -> int:
    """Analyses stored for ``repository`` (any analyzer)."""
    return int(
        await s.scalar(
            select(func.count())
            .select_from(CommitAnalysis)
            .where(CommitAnalysis.repository == repository)
        )
        or 0
    )
