"""AnalyzeRepositoryWorkflow: analyse every commit of a repository the current analyzer has not.

It asks ``find_unanalysed`` for up to ``continue_as_new_after`` commit ids (analysis's own copy
of the commits it was handed), splits them into batches of ``batch_size`` and runs
``analyze_stored_commits`` on at most ``max_concurrent`` batches at once. A full page means more
may follow: the workflow continues as new after the last id with its totals, keeping its history
bounded on repositories of any size. At the end it rebuilds the authors' profiles through a
``RebuildProfilesWorkflow`` child.

A batch that fails after its retries (a refused API key, output that never validates) does not
stop the others; the workflow then fails naming how many failed and the first reason. Running it
again analyses only what is still missing: the cache makes finished commits free.
"""

from __future__ import annotations

import asyncio

import pydantic
from temporalio import workflow
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from analysis.activities.backlog import Backlog, FindUnanalysedInput, find_unanalysed
    from analysis.activities.commits import (
        AnalyzeCommitsResult,
        AnalyzeStoredCommitsInput,
        analyze_stored_commits,
    )
    from analysis.workflows.rebuild_profiles import (
        RebuildProfilesInput,
        RebuildProfilesResult,
        RebuildProfilesWorkflow,
    )
    from core import durable
    from core.activities import ActivityOptions

__all__ = ["AnalyzeRepositoryInput", "AnalyzeRepositoryResult", "AnalyzeRepositoryWorkflow"]


class AnalyzeRepositoryResult(pydantic.BaseModel):
    analyzer: str = ""
    batches: int = 0
    commits: int = 0
    analysed: int = 0
    cached: int = 0
    model_calls: int = 0
    failed_batches: int = 0
    profiles: int = 0
    runs: int = 1
    """Workflow runs this took (continue-as-new)."""


class AnalyzeRepositoryInput(pydantic.BaseModel):
    repository: str = pydantic.Field(min_length=1)
    """The repository's URL, as the commits were handed over (sync: its normalised URL)."""
    batch_size: int = pydantic.Field(default=50, ge=1, le=500)
    """Commits per ``analyze_stored_commits`` job. Default: 50."""
    max_concurrent: int = pydantic.Field(default=4, ge=1, le=100)
    """Batches running at once. Default: 4."""
    continue_as_new_after: int = pydantic.Field(default=2000, ge=1, le=10_000)
    """Commits per workflow run. Default: 2,000."""
    options: ActivityOptions | None = None
    """Overrides of the analysis activity's registered config (retry policy, timeouts)."""
    after_id: int = 0
    """Where this run starts (set by continue-as-new)."""
    totals: AnalyzeRepositoryResult = pydantic.Field(default_factory=AnalyzeRepositoryResult)
    first_error: str | None = None
    """First failed batch's reason (carried over continue-as-new)."""


@workflow.defn
class AnalyzeRepositoryWorkflow:
    @workflow.run
    async def run(self, input: AnalyzeRepositoryInput) -> AnalyzeRepositoryResult:
        backlog: Backlog = await durable.run_activity(
            find_unanalysed,
            FindUnanalysedInput(
                repository=input.repository,
                after_id=input.after_id,
                limit=input.continue_as_new_after,
            ),
        )
        batches = [
            backlog.ids[i : i + input.batch_size]
            for i in range(0, len(backlog.ids), input.batch_size)
        ]
        slots = asyncio.Semaphore(input.max_concurrent)

        async def analyse(ids: list[int]) -> AnalyzeCommitsResult:
            async with slots:
                result: AnalyzeCommitsResult = await durable.run_activity(
                    analyze_stored_commits,
                    AnalyzeStoredCommitsInput(ids=ids),
                    options=input.options,
                )
                return result

        outcomes = await asyncio.gather(*(analyse(b) for b in batches), return_exceptions=True)
        totals = input.totals.model_copy(update={"analyzer": backlog.analyzer})
        first_error = input.first_error
        for ids, outcome in zip(batches, outcomes, strict=True):
            totals.batches += 1
            totals.commits += len(ids)
            if isinstance(outcome, BaseException):
                if not isinstance(outcome, ActivityError):
                    raise outcome  # a bug in this workflow: let the task retry, the Temporal way
                totals.failed_batches += 1
                cause = outcome.cause or outcome
                first_error = first_error or f"{type(cause).__name__}: {cause}"
                continue
            totals.analysed += outcome.analysed
            totals.cached += outcome.cached
            totals.model_calls += outcome.model_calls
        if len(backlog.ids) == input.continue_as_new_after:
            workflow.continue_as_new(
                input.model_copy(
                    update={
                        "after_id": backlog.ids[-1],
                        "totals": totals.model_copy(update={"runs": totals.runs + 1}),
                        "first_error": first_error,
                    }
                )
            )
        profiles: RebuildProfilesResult = await durable.execute_child(
            RebuildProfilesWorkflow.run,
            RebuildProfilesInput(repository=input.repository),
            id=f"{workflow.info().workflow_id}/profiles",
        )
        totals.profiles = profiles.profiles
        if totals.failed_batches:
            raise ApplicationError(
                f"{totals.failed_batches} of {totals.batches} batches of {input.repository} "
                f"failed; first: {first_error}",
                totals.model_dump(mode="json"),
                type="AnalysisIncomplete",
                non_retryable=True,
            )
        workflow.logger.info(
            "analysed %s: %d new, %d cached", input.repository, totals.analysed, totals.cached
        )
        return totals
