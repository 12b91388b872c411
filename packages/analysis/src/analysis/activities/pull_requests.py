"""``analyze_pull_request``: one revision of one pull request, passed by value.

Cached like commits: a (repository, number, revision, analyzer, prompt version) already stored
costs no model call. Errors map as for commits (see :mod:`analysis.analyzers.llm`).
"""

from __future__ import annotations

from datetime import timedelta

import pydantic
from sqlalchemy import select
from temporalio import activity

from analysis import store
from analysis.analyzers import current_analyzer
from analysis.attempt import Progress, heartbeating
from analysis.models import PullRequestAnalysis
from analysis.schema import PullRequestData, PullRequestInsight
from core import activities, db
from core.db import upsert

__all__ = ["PullRequestResult", "analyze_pull_request"]


class PullRequestResult(pydantic.BaseModel):
    analyzer: str
    prompt_version: str
    cached: bool
    """Already analysed: no model call was made."""
    insight: PullRequestInsight


@activities.defn(retry="llm", start_to_close=timedelta(minutes=10), heartbeat=timedelta(seconds=30))
async def analyze_pull_request(input: PullRequestData) -> PullRequestResult:
    """Analyse one pull request revision (its commits' facts are kept too)."""
    analyzer = await current_analyzer()
    key = {
        "repository": input.repository,
        "number": input.number,
        "revision": input.revision,
        "analyzer": analyzer.name,
        "prompt_version": analyzer.prompt_version,
    }
    async with db.session() as s:
        await store.receive_commits(s, input.commits)
        stored = (
            await s.execute(
                select(PullRequestAnalysis).where(
                    *(getattr(PullRequestAnalysis, k) == v for k, v in key.items())
                )
            )
        ).scalar_one_or_none()
    if stored is not None:
        insight = PullRequestInsight(
            kind=stored.kind,  # stored from a validated insight
            summary=stored.summary,
            areas=stored.areas,
            risk=stored.risk,
            review_focus=stored.review_focus,
        )
        return PullRequestResult(
            analyzer=analyzer.name,
            prompt_version=analyzer.prompt_version,
            cached=True,
            insight=insight,
        )
    attempt = activity.info().attempt
    progress = Progress(analyzer.name, analyzer.prompt_version, attempt=attempt)
    async with heartbeating(progress):
        try:
            insight = await analyzer.pull_request(input, progress.record)
        finally:
            await progress.flush()
    async with db.session() as s:
        await upsert(
            s,
            PullRequestAnalysis,
            [{**key, "title": input.title, "author": input.author, **insight.model_dump()}],
            key=list(key),
            update=(),
        )
    return PullRequestResult(
        analyzer=analyzer.name,
        prompt_version=analyzer.prompt_version,
        cached=False,
        insight=insight,
    )
