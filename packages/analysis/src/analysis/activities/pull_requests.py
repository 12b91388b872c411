"""``analyze_pull_request``: one revision of one pull request, passed by value.

Cached like commits: a (repository, number, revision, analyzer, prompt version) already stored
costs no model call. Errors map as for commits (see :mod:`analysis.analyzers.llm`).
"""

from __future__ import annotations

from datetime import timedelta

import pydantic
from temporalio import activity

from analysis.analyzers import current_analyzer
from analysis.attempt import STORE, Progress, heartbeating
from analysis.schema import PullRequestData, PullRequestInsight
from core import activities, db

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
    await activities.preload(*STORE)
    from analysis import store

    async with db.session() as s:
        await store.receive_commits(s, input.commits)
        stored = await store.pull_request_analysis(s, key)
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
        row = {"title": input.title, "author": input.author, **insight.model_dump()}
        await store.save_pull_request_analysis(s, key, row)
    return PullRequestResult(
        analyzer=analyzer.name,
        prompt_version=analyzer.prompt_version,
        cached=False,
        insight=insight,
    )
