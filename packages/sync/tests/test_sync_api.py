"""Syncing through a GitHub-compatible API (a real loopback server): pages, 304s, increments,
errors that fail fast, rate limits waited out, server errors retried from the cursor."""

from __future__ import annotations

import json

import pytest
from sync_test_github import FakeGitHub
from sync_test_support import count, distinct_shas, pull, run_sync, runs
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from core.dev.testing import running_worker
from sync.models import Commit, PullRequest

URL = "https://github.com/acme/big"


async def test_pages_then_304_then_only_what_is_new(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    github_env: dict[str, str],
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repo("acme", "big", commits=2500, pulls=120)
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        first = await run_sync(temporal_client, task_queue, URL)
        after_first = len(fake_github.log)
        second = await run_sync(temporal_client, task_queue, URL)
        unchanged = fake_github.log[after_first:]

        fake_github.push("acme", "big", 30)
        fake_github.touch_pull("acme", "big", 5, merged=True)
        fake_github.touch_pull("acme", "big", 121)
        after_second = len(fake_github.log)
        third = await run_sync(temporal_client, task_queue, URL)
        incremental = fake_github.log[after_second:]

    assert (first.kind, first.commits_inserted, first.pulls_inserted) == ("api", 2500, 120)
    kinds = [r.kind for r in fake_github.log[:after_first]]
    assert (kinds.count("commits"), kinds.count("pulls")) == (25, 2)  # 100 per page
    assert first.head == fake_github.repos[("acme", "big")].commits[30]["sha"]

    assert (second.commits_inserted, second.pulls_inserted, second.pulls_updated) == (0, 0, 0)
    assert second.not_modified
    assert [(r.kind, r.status, r.conditional) for r in unchanged] == [
        ("commits", 304, True),
        ("pulls", 304, True),
    ]

    assert (third.commits_inserted, third.pulls_inserted) == (30, 1)
    # PR 5 and PR 120 (updated in the same instant the last sync saw) are written again.
    assert third.pulls_updated == 2
    assert [(r.kind, r.page, r.status) for r in incremental] == [
        ("commits", 1, 200),
        ("pulls", 1, 200),
    ]

    repository_id = first.repository_id
    assert await count(Commit, repository_id) == 2530
    assert await distinct_shas(repository_id) == 2530
    assert await count(PullRequest, repository_id) == 121
    merged = await pull(repository_id, 5)
    assert (merged.state, merged.author, merged.title) == ("merged", "dev0", "PR 5")
    assert merged.merged_at is not None
    assert [r.status for r in await runs(repository_id)] == ["succeeded"] * 3


@pytest.mark.parametrize(
    ("problem", "error_type"), [("bad token", "AuthError"), ("unknown repository", "NotFoundError")]
)
async def test_auth_and_not_found_errors_fail_at_once_with_the_error_recorded(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    github_env: dict[str, str],
    fake_github: FakeGitHub,
    problem: str,
    error_type: str,
) -> None:
    fake_github.add_repo("acme", "big", commits=10)
    url = URL
    if problem == "bad token":
        fake_github.token = "another-token"
    else:
        url = f"{fake_github.url}/repos/acme/gone"  # the API's own URL form works too
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        with pytest.raises(WorkflowFailureError) as failure:
            await run_sync(temporal_client, task_queue, url)

    cause = failure.value.cause.cause
    assert isinstance(cause, ApplicationError)
    assert cause.type == error_type
    assert "LANES_GITHUB_TOKEN" in cause.message
    assert github_env["LANES_GITHUB_TOKEN"] not in cause.message
    assert len(fake_github.log) == 1  # one request, no retry (the retry would come after 1 s)
    [run] = await runs()
    assert (run.status, run.attempts) == ("failed", 1)
    assert run.error is not None and run.error.startswith(f"{error_type}: ")


async def test_rate_limits_are_waited_out_for_the_time_the_server_names_without_an_attempt(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    github_env: dict[str, str],
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repo("acme", "big", commits=250, pulls=3)
    fake_github.rate_limit("commits", page=2, reset_in=2.0)  # primary: 403 + x-ratelimit-reset
    fake_github.rate_limit("pulls", page=1, reset_in=1.0, secondary=True)  # 429 + retry-after
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        result = await run_sync(temporal_client, task_queue, URL)

    assert (result.commits_inserted, result.pulls_inserted, result.attempt) == (250, 3, 1)
    limited, retried = fake_github.requests("commits", page=2)
    assert (limited.status, retried.status) == (403, 200)
    assert retried.at - limited.at >= 2.0  # the reset time, not the policy's 1 s backoff
    secondary, after = fake_github.requests("pulls", page=1)
    assert (secondary.status, after.status) == (429, 200)
    assert after.at - secondary.at >= 1.0
    [run] = await runs(result.repository_id)
    assert (run.status, run.attempts) == ("succeeded", 1)


async def test_a_server_error_is_retried_and_the_retry_resumes_from_the_cursor(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    github_env: dict[str, str],
    fake_github: FakeGitHub,
) -> None:
    fake_github.add_repo("acme", "big", commits=600)
    fake_github.fail("commits", page=4, status=500)
    async with running_worker(temporal_client, "sync", task_queue=task_queue):
        result = await run_sync(temporal_client, task_queue, URL)

    assert (result.commits_inserted, result.attempt) == (600, 2)
    assert result.resumed_from is not None
    assert result.resumed_from["next"].endswith("page=4")
    assert [r.status for r in fake_github.requests("commits", page=4)] == [500, 200]
    assert len(fake_github.requests("commits", page=1)) == 1  # did not start over
    assert await count(Commit, result.repository_id) == 600
    [run] = await runs(result.repository_id)
    assert (run.status, run.attempts, run.commits_inserted) == ("succeeded", 2, 600)
    assert json.loads(run.cursor or "{}")["phase"] == "done"
