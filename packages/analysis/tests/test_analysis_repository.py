"""AnalyzeRepositoryWorkflow: a new analyzer re-analyses a repository from the facts analysis
kept, in batches, continuing as new, then rebuilds the profiles; RebuildProfilesWorkflow."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from analysis_test_llm import FakeModel
from analysis_test_support import FAST_RETRY, CommitAnalysis, DeveloperProfile, rows
from temporalio.client import Client

from analysis.activities.commits import AnalyzeCommitsInput
from analysis.schema import CommitData
from analysis.settings import analysis_settings
from analysis.workflows import AnalyzeRepositoryWorkflow, RebuildProfilesWorkflow
from analysis.workflows.analyze_repository import AnalyzeRepositoryInput
from analysis.workflows.rebuild_profiles import RebuildProfilesInput
from core.dev.testing import replay, running_worker
from core.dispatch import dispatch_and_wait

REPO = "https://example.com/acme/shop"


def _commits(n: int) -> AnalyzeCommitsInput:
    return AnalyzeCommitsInput(
        commits=[
            CommitData(
                repository=REPO,
                sha=f"{i:040x}",
                author_name=f"Dev {i % 3}",
                author_email=f"dev{i % 3}@example.com",
                authored_at=datetime(2026, 1 + i % 3, 1, tzinfo=UTC),
                message=f"feat: step {i}",
                paths=[f"shop/{i}.py"],
                additions=i,
                deletions=0,
            )
            for i in range(1, n + 1)
        ]
    )


async def test_a_new_analyzer_reanalyses_the_repository_continuing_as_new(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    fake_model: FakeModel,
    llm_env: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # First with nothing configured: the built-in analyzer.
    monkeypatch.delenv("LANES_LLM_MODEL")
    analysis_settings.cache_clear()
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        await dispatch_and_wait("analyze_commits", _commits(25), task_queue=task_queue)
        monkeypatch.setenv("LANES_LLM_MODEL", "fake-model")  # now a model is configured
        analysis_settings.cache_clear()
        handle = await temporal_client.start_workflow(
            AnalyzeRepositoryWorkflow.run,
            AnalyzeRepositoryInput(
                repository=REPO, batch_size=4, continue_as_new_after=10, options=FAST_RETRY
            ),
            id=f"test-analyse-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=120),
        )
        result = await handle.result()
    # Today's code replays the recorded history (the last run: batches, then the child).
    await replay([await handle.fetch_history()], [AnalyzeRepositoryWorkflow])

    assert result.analyzer == "llm:fake-model"
    assert (result.commits, result.analysed, result.model_calls) == (25, 25, 25)
    # Runs of 10, 10 and 5 commits, in batches of 4: 4+4+2, 4+4+2, 4+1.
    assert (result.batches, result.runs, result.profiles) == (8, 3, 3)
    analyses = await rows(CommitAnalysis)
    assert sorted(a.analyzer for a in analyses) == ["builtin"] * 25 + ["llm:fake-model"] * 25
    profiles = await rows(DeveloperProfile)
    assert sorted((p.author_email, p.commits) for p in profiles) == [
        ("dev0@example.com", 8),
        ("dev1@example.com", 9),
        ("dev2@example.com", 8),
    ]
    # The newest analysis of each commit counts: the model's answer says Text, not Python.
    assert all(p.languages == {"Text": p.commits} for p in profiles)
    assert fake_model.calls == 25


async def test_rebuild_profiles_pages_through_every_author(
    temporal_client: Client, task_queue: str, lanes_database: str
) -> None:
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        batch = _commits(9)
        batch.rebuild_profiles = False
        await dispatch_and_wait("analyze_commits", batch, task_queue=task_queue)
        assert await rows(DeveloperProfile) == []
        result = await temporal_client.execute_workflow(
            RebuildProfilesWorkflow.run,
            RebuildProfilesInput(page_size=2),
            id=f"test-profiles-{uuid.uuid4().hex[:8]}",
            task_queue=task_queue,
            execution_timeout=timedelta(seconds=60),
        )
    assert (result.profiles, result.commits, result.runs) == (3, 9, 2)
    profiles = await rows(DeveloperProfile)
    assert sorted((p.author_email, p.commits) for p in profiles) == [
        (f"dev{i}@example.com", 3) for i in range(3)
    ]
    dev1 = next(p for p in profiles if p.author_email == "dev1@example.com")
    assert dev1.activity == {"2026-02": 3}  # commits 1, 4, 7: February
    assert dev1.kinds == {"feat": 3}
