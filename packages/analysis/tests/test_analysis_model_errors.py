"""Provider answers mapped to Temporal: 429 waits in the attempt, 5xx retries, 401 and output
that never validates fail once with the reason stored — through the real pydantic-ai client, the
real dev server and both databases."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime

import pytest
from analysis_test_llm import FakeModel
from analysis_test_support import FAST_RETRY, ModelCall, application_error, rows
from temporalio.client import Client

from analysis.activities.commits import AnalyzeCommitsInput, AnalyzeCommitsResult
from analysis.schema import CommitData
from analysis.settings import analysis_settings
from core.dev.testing import running_worker
from core.dispatch import dispatch


def _commits(n: int = 1) -> AnalyzeCommitsInput:
    run = uuid.uuid4().hex[:8]
    return AnalyzeCommitsInput(
        commits=[
            CommitData(
                repository=f"https://example.com/{run}",
                sha=f"{i:04d}{run}",
                author_name="Ada",
                author_email="ada@example.com",
                authored_at=datetime(2026, 1, 2, tzinfo=UTC),
                message=f"fix(api): bug {i}",
                paths=["api/app.py"],
                additions=3,
                deletions=1,
            )
            for i in range(n)
        ]
    )


async def _analyse(task_queue: str, input: AnalyzeCommitsInput) -> AnalyzeCommitsResult:
    job = await dispatch("analyze_commits", input, task_queue=task_queue, options=FAST_RETRY)
    result: AnalyzeCommitsResult = await job.result()
    return result


async def test_a_429_waits_the_servers_delay_inside_the_attempt(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    llm_env: dict[str, str],
    fake_model: FakeModel,
) -> None:
    fake_model.fail(429, {"Retry-After": "2"})
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        result = await _analyse(task_queue, _commits())

    assert (result.attempt, result.analysed, result.model_calls) == (1, 1, 2)
    limited, answered = fake_model.requests
    assert limited.status == 429
    assert answered.at - limited.at >= 2.0  # the server's delay, not a backoff of ours
    calls = await rows(ModelCall)
    assert [(c.outcome, c.status_code, c.attempt) for c in calls] == [
        ("rate_limited", 429, 1),
        ("ok", None, 1),
    ]


async def test_a_server_error_is_retried_by_temporal(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    llm_env: dict[str, str],
    fake_model: FakeModel,
) -> None:
    fake_model.fail(500)
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        result = await _analyse(task_queue, _commits())

    assert (result.attempt, result.analysed) == (2, 1)
    assert fake_model.calls == 2  # the client itself did not retry (max_retries=0)
    calls = await rows(ModelCall)
    assert [(c.outcome, c.attempt) for c in calls] == [("server_error", 1), ("ok", 2)]


async def test_a_refused_key_fails_once_with_the_reason_stored(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    llm_env: dict[str, str],
    fake_model: FakeModel,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LANES_LLM_API_KEY", "sk-wrong")
    analysis_settings.cache_clear()
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        with pytest.raises(Exception) as failure:  # noqa: PT011  # the job's failure, any engine
            await _analyse(task_queue, _commits(3))

    cause = application_error(failure.value)
    assert cause.type == "ModelRequestRejected" and cause.non_retryable
    assert "401" in cause.message and "LANES_LLM_API_KEY" in cause.message
    assert "sk-wrong" not in cause.message
    calls = await rows(ModelCall)
    rejected = [c for c in calls if c.outcome == "rejected"]
    assert rejected and {(c.status_code, c.attempt) for c in rejected} == {(401, 1)}
    assert rejected[0].error is not None and "LANES_LLM_API_KEY" in rejected[0].error
    # The batch's other requests, in flight when the first 401 failed it, were cancelled: each
    # is a row all the same (it may have reached the provider).
    assert {(c.outcome, c.attempt) for c in calls if c not in rejected} <= {("cancelled", 1)}
    assert fake_model.calls == len(calls) <= 3  # at most one request per commit, no retry


async def test_output_that_never_validates_fails_once_with_the_reason_stored(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    llm_env: dict[str, str],
    fake_model: FakeModel,
) -> None:
    fake_model.invalid_always = True
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        with pytest.raises(Exception) as failure:  # noqa: PT011  # the job's failure, any engine
            await _analyse(task_queue, _commits())

    cause = application_error(failure.value)
    assert cause.type == "ModelOutputInvalid" and cause.non_retryable
    [call] = await rows(ModelCall)
    assert (call.outcome, call.attempt) == ("invalid_output", 1)
    assert call.error is not None and call.error.startswith("ModelOutputInvalid: ")
    assert fake_model.calls == 2  # the answer, then one output retry (LANES_LLM_OUTPUT_RETRIES)


async def test_a_batch_already_analysed_makes_no_model_call(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    llm_env: dict[str, str],
    fake_model: FakeModel,
) -> None:
    batch = _commits(5)
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        first = await _analyse(task_queue, batch)
        second = await _analyse(task_queue, batch)
    assert (first.analysed, first.model_calls) == (5, 5)
    assert (second.analysed, second.cached, second.model_calls) == (0, 5, 0)
    assert fake_model.calls == 5
