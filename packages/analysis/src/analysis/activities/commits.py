"""Analyse commits: a batch passed by value (``analyze_commits``, what sync's hand-off and any
other service dispatch) or commits analysis already holds, by id (``analyze_stored_commits``,
what ``AnalyzeRepositoryWorkflow`` fans out — ids keep the workflow history small).

Both keep the commits' facts, skip every commit already analysed by the same analyzer and
prompt version (the cache: a re-run makes no model call), analyse the rest concurrently — model
calls bounded per worker process by ``LANES_ANALYSIS_CONCURRENCY`` — and write the insights and
the usage rows as they complete, so a failed attempt keeps what it finished and its retry
analyses only the rest. Then the profiles of the batch's authors are rebuilt.

A non-retryable model error (the key refused, output that never validates) fails the batch at
once, its reason stored in ``analysis_model_calls``; the batch's other calls are cancelled.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Sequence
from datetime import timedelta

import pydantic
from temporalio import activity
from temporalio.exceptions import ApplicationError

from analysis.analyzers import Analyzer, current_analyzer
from analysis.attempt import STORE, Progress, heartbeating
from analysis.schema import CommitData
from core import activities, db

__all__ = [
    "AnalyzeCommitsInput",
    "AnalyzeCommitsResult",
    "AnalyzeStoredCommitsInput",
    "analyze_commits",
    "analyze_stored_commits",
]

MAX_BATCH = 500


class AnalyzeCommitsInput(pydantic.BaseModel):
    commits: list[CommitData] = pydantic.Field(min_length=1, max_length=MAX_BATCH)
    """The commits, with what analysis needs of each (at most 500 per job)."""
    rebuild_profiles: bool = True
    """Rebuild the profiles of the batch's authors afterwards. Default: true."""


class AnalyzeStoredCommitsInput(pydantic.BaseModel):
    ids: list[int] = pydantic.Field(min_length=1, max_length=MAX_BATCH)
    """Ids of ``analysis_commits`` rows."""
    rebuild_profiles: bool = False
    """Rebuild the batch's authors' profiles (the repository workflow does it once at the end)."""


class AnalyzeCommitsResult(pydantic.BaseModel):
    analyzer: str
    prompt_version: str
    commits: int
    """Commits in the batch."""
    analysed: int
    """Analyses this job stored (over all its attempts)."""
    cached: int
    """Commits already analysed by this analyzer and prompt version when this attempt started."""
    model_calls: int
    """Model requests this attempt made (0 for the built-in analyzer and for a cached batch)."""
    authors: list[str]
    attempt: int


_RETRY = "llm"  # LLM_RETRY: 30 s doubling to 10 min, 6 attempts


@activities.defn(
    retry=_RETRY, start_to_close=timedelta(minutes=30), heartbeat=timedelta(seconds=30)
)
async def analyze_commits(input: AnalyzeCommitsInput) -> AnalyzeCommitsResult:
    """Analyse a batch of commits passed by value; cached commits cost nothing."""
    await activities.preload(*STORE)
    from analysis import store

    async with db.session() as s:
        await store.receive_commits(s, input.commits)
    return await analyse(input.commits, rebuild_profiles=input.rebuild_profiles)


@activities.defn(
    retry=_RETRY, start_to_close=timedelta(minutes=30), heartbeat=timedelta(seconds=30)
)
async def analyze_stored_commits(input: AnalyzeStoredCommitsInput) -> AnalyzeCommitsResult:
    """Analyse commits analysis holds already, by id."""
    await activities.preload(*STORE)
    from analysis import store

    async with db.session() as s:
        commits = await store.stored_commits(s, input.ids)
    return await analyse(commits, rebuild_profiles=input.rebuild_profiles)


async def analyse(commits: Sequence[CommitData], *, rebuild_profiles: bool) -> AnalyzeCommitsResult:
    """The work of both activities (also callable outside an activity, e.g. from a script)."""
    analyzer = await current_analyzer()
    await activities.preload(*STORE)
    from analysis import store

    attempt = activity.info().attempt if activity.in_activity() else 1
    progress = Progress(analyzer.name, analyzer.prompt_version, attempt=attempt)
    by_repository: dict[str, list[CommitData]] = defaultdict(list)
    for commit in commits:
        by_repository[commit.repository].append(commit)
    todo: list[CommitData] = []
    async with db.session() as s:
        for repository, group in by_repository.items():
            done = await store.analysed_shas(
                s, repository, (c.sha for c in group), analyzer.name, analyzer.prompt_version
            )
            todo.extend(c for c in group if c.sha not in done)
    async with heartbeating(progress):
        try:
            if analyzer.model is None:
                for commit in todo:  # no I/O: nothing to overlap
                    progress.pending.append(
                        (commit, await analyzer.commit(commit, progress.record))
                    )
            else:
                await _concurrently(todo, analyzer, progress)
        finally:
            await progress.flush()
    authors = sorted({c.author_email for c in commits})
    if rebuild_profiles:
        for author in authors:
            async with db.session() as s:
                profile = await store.build_profile(s, author)
                if profile is not None:
                    await store.save_profile(s, profile)
    return AnalyzeCommitsResult(
        analyzer=analyzer.name,
        prompt_version=analyzer.prompt_version,
        commits=len(commits),
        analysed=progress.analysed,
        cached=len(commits) - len(todo),
        model_calls=progress.calls,
        authors=authors,
        attempt=attempt,
    )


async def _concurrently(todo: list[CommitData], analyzer: Analyzer, progress: Progress) -> None:
    async def one(commit: CommitData) -> None:
        insight = await analyzer.commit(commit, progress.record)
        await progress.add(commit, insight)

    try:
        async with asyncio.TaskGroup() as group:
            for commit in todo:
                group.create_task(one(commit))
    except BaseExceptionGroup as failed:
        # The first error tells the story (a non-retryable one first); the rest were cancelled.
        raise _first(failed) from None


def _first(group: BaseExceptionGroup[BaseException]) -> BaseException:
    leaves: list[BaseException] = []
    pending: list[BaseException] = [group]
    while pending:
        error = pending.pop(0)
        if isinstance(error, BaseExceptionGroup):
            pending.extend(error.exceptions)
        else:
            leaves.append(error)
    final = [e for e in leaves if isinstance(e, ApplicationError) and e.non_retryable]
    return (final or leaves)[0]
