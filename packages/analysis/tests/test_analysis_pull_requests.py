"""analyze_pull_request: one revision analysed once, by the model or by the built-in rules."""

from __future__ import annotations

import asyncio
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from analysis_test_llm import FakeModel
from analysis_test_support import ModelCall, rows
from temporalio.client import Client

from analysis.activities.pull_requests import PullRequestResult
from analysis.models import PullRequestAnalysis
from analysis.schema import CommitData, PullRequestData
from analysis.workflows import ReviewPullRequestWorkflow
from analysis.workflows.review_pull_request import ReviewRequest, Verdict
from core.dev.testing import running_worker
from core.dispatch import dispatch_and_wait

REPO = "https://github.com/acme/api"


def _pull(revision: str) -> PullRequestData:
    return PullRequestData(
        repository=REPO,
        number=42,
        title="Invoices as PDF",
        body="Adds a PDF renderer.",
        author="ada",
        revision=revision,
        commits=[
            CommitData(
                repository=REPO,
                sha="a1b2c3d4",
                author_email="ada@example.com",
                authored_at=datetime(2026, 3, 1, tzinfo=UTC),
                message="feat(billing): render invoices",
                paths=["billing/pdf.py", "db/migrations/0042_invoices.sql"],
                additions=300,
                deletions=20,
            )
        ],
    )


async def test_a_pull_request_revision_is_analysed_once_by_the_model(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    llm_env: dict[str, str],
    fake_model: FakeModel,
) -> None:
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        first: PullRequestResult = await dispatch_and_wait(
            "analyze_pull_request", _pull("rev-1"), task_queue=task_queue
        )
        again: PullRequestResult = await dispatch_and_wait(
            "analyze_pull_request", _pull("rev-1"), task_queue=task_queue
        )
        newer: PullRequestResult = await dispatch_and_wait(
            "analyze_pull_request", _pull("rev-2"), task_queue=task_queue
        )
    assert (first.cached, again.cached, newer.cached) == (False, True, False)
    assert first.insight.summary == "a pull request"  # the model's answer
    assert again.insight == first.insight
    assert fake_model.calls == 2
    stored = await rows(PullRequestAnalysis)
    assert [(p.revision, p.analyzer) for p in stored] == [
        ("rev-1", "llm:fake-model"),
        ("rev-2", "llm:fake-model"),
    ]
    assert [c.subject for c in await rows(ModelCall)] == [f"pull {REPO}#42"] * 2


async def test_the_built_in_rules_read_a_pull_request_from_its_commits(
    temporal_client: Client, task_queue: str, lanes_database: str
) -> None:
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        result: PullRequestResult = await dispatch_and_wait(
            "analyze_pull_request", _pull("rev-1"), task_queue=task_queue
        )
    assert result.analyzer == "builtin"
    assert (result.insight.kind, result.insight.risk) == ("feat", "high")  # a migration
    assert result.insight.areas == ["billing", "db"]
    assert result.insight.summary == "Invoices as PDF — 1 commits, 320 lines"


async def test_a_review_waits_for_a_persons_verdict_or_times_out(
    temporal_client: Client, task_queue: str, lanes_database: str
) -> None:
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        handle = await temporal_client.start_workflow(
            ReviewPullRequestWorkflow.run,
            ReviewRequest(pull_request=_pull("rev-1")),
            id=f"test-review-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
        analysis = await _query_until_analysed(handle)
        verdict = Verdict(approved=False, reviewer="ada")
        await handle.signal(ReviewPullRequestWorkflow.verdict, verdict)
        decided = await handle.result()

        forgotten = await temporal_client.execute_workflow(
            ReviewPullRequestWorkflow.run,
            ReviewRequest(pull_request=_pull("rev-2"), review_timeout=timedelta(seconds=1)),
            id=f"test-review-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
        )
    assert analysis.insight.risk == "high"  # what the reviewer saw while it waited
    assert (decided.outcome, decided.verdict) == ("changes_requested", verdict)
    assert (forgotten.outcome, forgotten.verdict) == ("timed_out", None)


async def _query_until_analysed(handle: Any) -> PullRequestResult:
    for _ in range(300):
        result = await handle.query(ReviewPullRequestWorkflow.status)
        if result is not None:
            return PullRequestResult.model_validate(result)
        await asyncio.sleep(0.1)
    raise AssertionError("the review never showed its analysis")
