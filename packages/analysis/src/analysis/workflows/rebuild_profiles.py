"""RebuildProfilesWorkflow: rebuild every developer profile (of one repository's authors, or all).

Authors are read ``page_size`` at a time; each page's profiles are rebuilt ``max_concurrent`` at
once, then the workflow continues as new with the next page, so its history stays bounded however
many developers there are. Scheduled daily (``analysis.rebuild_profiles``) and run by
``AnalyzeRepositoryWorkflow`` at its end.
"""

from __future__ import annotations

import asyncio

import pydantic
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from analysis.activities.profiles import (
        AuthorPage,
        ListAuthorsInput,
        ProfileSummary,
        RebuildProfileInput,
        list_authors,
        rebuild_profile,
    )
    from core import durable

__all__ = ["RebuildProfilesInput", "RebuildProfilesResult", "RebuildProfilesWorkflow"]


class RebuildProfilesResult(pydantic.BaseModel):
    profiles: int = 0
    """Profiles rebuilt."""
    commits: int = 0
    """Commits the rebuilt profiles count, summed."""
    runs: int = 1
    """Workflow runs this took (continue-as-new)."""


class RebuildProfilesInput(pydantic.BaseModel):
    repository: str | None = None
    """Only the authors of this repository. Default: every author."""
    max_concurrent: int = pydantic.Field(default=8, ge=1, le=100)
    page_size: int = pydantic.Field(default=500, ge=1, le=5000)
    """Authors per workflow run before continuing as new. Default: 500."""
    after: str = ""
    """Where this run starts (set by continue-as-new)."""
    totals: RebuildProfilesResult = pydantic.Field(default_factory=RebuildProfilesResult)


@workflow.defn
class RebuildProfilesWorkflow:
    @workflow.run
    async def run(self, input: RebuildProfilesInput) -> RebuildProfilesResult:
        page: AuthorPage = await durable.run_activity(
            list_authors,
            ListAuthorsInput(repository=input.repository, after=input.after, limit=input.page_size),
        )
        slots = asyncio.Semaphore(input.max_concurrent)

        async def rebuild(author: str) -> ProfileSummary:
            async with slots:
                summary: ProfileSummary = await durable.run_activity(
                    rebuild_profile, RebuildProfileInput(author_email=author)
                )
                return summary

        summaries = await asyncio.gather(*(rebuild(a) for a in page.authors))
        totals = input.totals.model_copy(
            update={
                "profiles": input.totals.profiles + len(summaries),
                "commits": input.totals.commits + sum(s.commits for s in summaries),
            }
        )
        if len(page.authors) == input.page_size:
            workflow.continue_as_new(
                input.model_copy(
                    update={
                        "after": page.authors[-1],
                        "totals": totals.model_copy(update={"runs": totals.runs + 1}),
                    }
                )
            )
        return totals
