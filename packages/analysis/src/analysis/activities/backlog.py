"""``find_unanalysed``: which commits of a repository the current analyzer has not analysed.

The repository workflow's hands on the database (workflow code cannot query it). It answers
with ids only, so the workflow's history stays small however long the commit messages are.
"""

from __future__ import annotations

from datetime import timedelta

import pydantic

from analysis.analyzers import current_analyzer
from analysis.attempt import STORE
from core import activities, db

__all__ = ["Backlog", "FindUnanalysedInput", "find_unanalysed"]


class FindUnanalysedInput(pydantic.BaseModel):
    repository: str
    after_id: int = 0
    """Only commits with a larger id (keyset paging). Default: from the first."""
    limit: int = pydantic.Field(default=1000, ge=1, le=10_000)


class Backlog(pydantic.BaseModel):
    analyzer: str
    prompt_version: str
    ids: list[int]
    """Ids of ``analysis_commits`` rows to analyse, ascending."""


@activities.defn(start_to_close=timedelta(minutes=2))
async def find_unanalysed(input: FindUnanalysedInput) -> Backlog:
    """Up to ``limit`` commits of the repository with no analysis by the current analyzer."""
    analyzer = await current_analyzer()
    await activities.preload(*STORE)
    from analysis import store

    async with db.session() as s:
        rows = await store.unanalysed(
            s,
            input.repository,
            analyzer.name,
            analyzer.prompt_version,
            after_id=input.after_id,
            limit=input.limit,
        )
    return Backlog(
        analyzer=analyzer.name, prompt_version=analyzer.prompt_version, ids=[r.id for r in rows]
    )
