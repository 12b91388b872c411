"""Developer profiles: rebuild one from its author's analyses; list the authors to rebuild."""

from __future__ import annotations

from datetime import datetime, timedelta

import pydantic

from analysis.attempt import STORE
from core import activities, db

__all__ = [
    "AuthorPage",
    "ListAuthorsInput",
    "ProfileSummary",
    "RebuildProfileInput",
    "list_authors",
    "rebuild_profile",
]


class RebuildProfileInput(pydantic.BaseModel):
    author_email: str = pydantic.Field(min_length=1)


class ProfileSummary(pydantic.BaseModel):
    author_email: str
    commits: int
    """Distinct commits the profile counts (0: the author has no analyses)."""
    languages: dict[str, int] = pydantic.Field(default_factory=dict)
    kinds: dict[str, int] = pydantic.Field(default_factory=dict)
    last_commit_at: datetime | None = None


class ListAuthorsInput(pydantic.BaseModel):
    repository: str | None = None
    """Only authors of this repository. Default: every author."""
    after: str = ""
    """Only emails sorting after this one (keyset paging)."""
    limit: int = pydantic.Field(default=500, ge=1, le=5000)


class AuthorPage(pydantic.BaseModel):
    authors: list[str]


@activities.defn(retry="llm", start_to_close=timedelta(minutes=2))
async def rebuild_profile(input: RebuildProfileInput) -> ProfileSummary:
    """Rebuild one developer's profile from the latest analysis of each of their commits."""
    await activities.preload(*STORE)
    from analysis import store

    async with db.session() as s:
        profile = await store.build_profile(s, input.author_email)
        if profile is None:
            return ProfileSummary(author_email=input.author_email, commits=0)
        await store.save_profile(s, profile)
    return ProfileSummary(
        author_email=input.author_email,
        commits=profile["commits"],
        languages=profile["languages"],
        kinds=profile["kinds"],
        last_commit_at=profile["last_commit_at"],
    )


@activities.defn(start_to_close=timedelta(seconds=60))
async def list_authors(input: ListAuthorsInput) -> AuthorPage:
    """Author emails with analysed commits, ``limit`` at a time after ``after``."""
    await activities.preload(*STORE)
    from analysis import store

    async with db.session() as s:
        authors = await store.authors_after(s, input.after, input.limit, input.repository)
    return AuthorPage(authors=authors)
