"""ReviewPullRequestWorkflow: analyse a pull request, then wait for a person's verdict.

The analysis (``analyze_pull_request``) is what the reviewer sees first — the ``status`` query
returns it while the workflow waits. A person answers with the ``verdict`` signal (approve or
request changes, who, a note); no answer within ``review_timeout`` ends the wait with outcome
``timed_out``, so a forgotten review never keeps a workflow open for ever. The verdict is the
workflow's result and stays in its history.

Signal it from the shell::

    temporal workflow signal --workflow-id review-acme-api-42 --name verdict \\
        --input '{"approved": true, "reviewer": "ada"}'
"""

from __future__ import annotations

from datetime import timedelta
from typing import Literal

import pydantic
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from analysis.activities.pull_requests import PullRequestResult, analyze_pull_request
    from analysis.schema import PullRequestData
    from core import durable

__all__ = ["ReviewPullRequestWorkflow", "ReviewRequest", "ReviewResult", "Verdict"]


class ReviewRequest(pydantic.BaseModel):
    pull_request: PullRequestData
    review_timeout: timedelta = timedelta(days=3)
    """How long to wait for a verdict. Default: 3 days."""


class Verdict(pydantic.BaseModel):
    approved: bool
    reviewer: str = pydantic.Field(min_length=1)
    note: str = ""


class ReviewResult(pydantic.BaseModel):
    outcome: Literal["approved", "changes_requested", "timed_out"]
    analysis: PullRequestResult
    verdict: Verdict | None = None


@workflow.defn
class ReviewPullRequestWorkflow:
    def __init__(self) -> None:
        self._analysis: PullRequestResult | None = None
        self._verdict: Verdict | None = None

    @workflow.run
    async def run(self, request: ReviewRequest) -> ReviewResult:
        self._analysis = await durable.run_activity(analyze_pull_request, request.pull_request)
        try:
            await workflow.wait_condition(
                lambda: self._verdict is not None, timeout=request.review_timeout
            )
        except TimeoutError:
            workflow.logger.info(
                "no verdict on %s#%d within %s",
                request.pull_request.repository,
                request.pull_request.number,
                request.review_timeout,
            )
            return ReviewResult(outcome="timed_out", analysis=self._analysis)
        assert self._verdict is not None
        outcome = "approved" if self._verdict.approved else "changes_requested"
        return ReviewResult(outcome=outcome, analysis=self._analysis, verdict=self._verdict)

    @workflow.signal
    def verdict(self, verdict: Verdict) -> None:
        """A person's verdict; the first one counts."""
        if self._verdict is None:
            self._verdict = verdict

    @workflow.query
    def status(self) -> PullRequestResult | None:
        """The analysis, once it is there (what the reviewer reads)."""
        return self._analysis
