"""Sync hands its commits to analysis by name: a 300-commit repository ends analysed, once.

Both domains' real workers run here (in-process, each on its own fresh queue); the sync worker
dispatches ``analyze_commits`` to the analysis queue exactly as in production — the packages
themselves never import each other (see test_analysis_boundaries).
"""

from __future__ import annotations

import uuid
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest
from analysis_test_git import AUTHORS, make_repo
from analysis_test_llm import FakeModel
from analysis_test_support import CommitAnalysis, DeveloperProfile, ModelCall, count, rows, settled
from temporalio.client import Client

from core.dev.testing import running_worker
from sync.settings import sync_settings


@pytest.fixture
def handoff_queue(monkeypatch: pytest.MonkeyPatch, task_queue: str) -> str:
    """Sync's hand-off goes to this test's analysis queue."""
    queue = f"{task_queue}-analysis"
    monkeypatch.setenv("LANES_SYNC_ANALYSIS_QUEUE", queue)
    sync_settings.cache_clear()
    yield queue
    monkeypatch.undo()
    sync_settings.cache_clear()


async def _sync(client: Client, queue: str, repo: Path, *, full: bool = False) -> dict[str, object]:
    result = await client.execute_workflow(
        "SyncRepositoryWorkflow",
        {"url": str(repo), "full": full},
        id=f"test-sync-{uuid.uuid4().hex[:10]}",
        task_queue=queue,
        execution_timeout=timedelta(seconds=120),
        result_type=dict,
    )
    return result


async def test_a_synced_repository_is_analysed_once_per_commit_with_one_profile_per_author(
    temporal_client: Client,
    task_queue: str,
    handoff_queue: str,
    lanes_database: str,
    llm_env: dict[str, str],
    fake_model: FakeModel,
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", 300)
    async with (
        running_worker(temporal_client, "sync", task_queue=task_queue),
        running_worker(temporal_client, "analysis", task_queue=handoff_queue),
    ):
        synced = await _sync(temporal_client, task_queue, repo)
        url = str(synced["url"])
        await settled(url, 300)
        calls_after_first = fake_model.calls

        # Again, everything: a full re-sync hands every commit over again (same job ids), and
        # the repository workflow finds nothing left to analyse.
        await _sync(temporal_client, task_queue, repo, full=True)
        again = await temporal_client.execute_workflow(
            "AnalyzeRepositoryWorkflow",
            {"repository": url},
            id=f"test-analyse-{uuid.uuid4().hex[:8]}",
            task_queue=handoff_queue,
            execution_timeout=timedelta(seconds=60),
            result_type=dict,
        )

    assert synced["commits_inserted"] == 300
    analyses = await rows(CommitAnalysis, CommitAnalysis.repository == url)
    assert len(analyses) == 300
    assert len({a.sha for a in analyses}) == 300
    assert {a.analyzer for a in analyses} == {"llm:fake-model"}
    assert all(a.summary == f"commit {a.sha[:8]}" for a in analyses)  # the model's own answer

    profiles = await rows(DeveloperProfile)
    assert len(profiles) == AUTHORS
    assert sorted(p.commits for p in profiles) == sorted(
        Counter(a.author_email for a in analyses).values()
    )
    assert sum(p.commits for p in profiles) == 300

    # One answer per commit (a request that timed out on a loaded machine is retried by
    # Temporal, so the fake may have been asked a few more times than 300).
    assert await count(ModelCall, ModelCall.outcome == "ok") == 300
    assert calls_after_first >= 300
    usage = await rows(ModelCall)
    assert {(u.input_tokens, u.output_tokens) for u in usage if u.outcome == "ok"} == {(120, 30)}

    # The second run: no model call at all.
    assert fake_model.calls == calls_after_first
    assert (again["commits"], again["model_calls"], again["profiles"]) == (0, 0, AUTHORS)
    assert await count(CommitAnalysis) == 300


async def test_the_built_in_analyzer_works_with_nothing_configured(
    temporal_client: Client,
    task_queue: str,
    handoff_queue: str,
    lanes_database: str,
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "repo", 40)
    async with (
        running_worker(temporal_client, "sync", task_queue=task_queue),
        running_worker(temporal_client, "analysis", task_queue=handoff_queue),
    ):
        synced = await _sync(temporal_client, task_queue, repo)
        await settled(str(synced["url"]), 40)

    analyses = {a.sha: a for a in await rows(CommitAnalysis)}
    assert len(analyses) == 40
    assert {a.analyzer for a in analyses.values()} == {"builtin"}
    assert await count(ModelCall) == 0
    # Commit 12 (see analysis_test_git): "docs: change 12", api/0/f12.py, 3 lines;
    # commit 23: "refactor: change 23", infra/0/f23.tf, 4 lines.
    [twelve] = [a for a in analyses.values() if a.summary == "change 12"]
    assert (twelve.kind, twelve.areas, twelve.languages) == ("docs", ["api"], ["Python"])
    [other] = [a for a in analyses.values() if a.summary == "change 23"]
    assert (other.kind, other.areas, other.languages) == ("refactor", ["infra"], ["Terraform"])
    assert (twelve.size, twelve.risk) == ("tiny", "low")
    profiles = await rows(DeveloperProfile)
    assert len(profiles) == AUTHORS
    dev5 = next(p for p in profiles if p.author_email == "dev5@example.com")
    assert dev5.commits == 6  # commits 5, 12, 19, 26, 33, 40
    assert sum(dev5.kinds.values()) == 6
