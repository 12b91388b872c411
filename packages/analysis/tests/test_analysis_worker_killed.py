"""An analysis worker SIGKILLed mid-batch: the retry analyses only what was not stored."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from analysis_test_llm import API_KEY, FakeModel
from sqlalchemy import func, select
from temporalio.client import Client

from analysis.activities.commits import AnalyzeCommitsResult
from analysis.models import CommitAnalysis
from core import db
from core.dispatch import dispatch
from core.settings import settings

WORKER = str(Path(__file__).with_name("analysis_test_worker.py"))
COMMITS = 240


def start_worker(queue: str, env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    try:
        return subprocess.Popen([sys.executable, WORKER, queue], env=env, stdout=out, stderr=out)
    finally:
        out.close()


async def stored(repository: str) -> int:
    async with db.session() as s:
        return int(
            await s.scalar(
                select(func.count(func.distinct(CommitAnalysis.sha))).where(
                    CommitAnalysis.repository == repository
                )
            )
            or 0
        )


async def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await predicate():
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def test_a_killed_worker_is_replaced_and_the_batch_finishes_without_redoing_much(
    temporal_client: Client,
    task_queue: str,
    lanes_env: dict[str, str],
    migrated_database_url: str,
    fake_model: FakeModel,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("LANES_DATABASE_URL", migrated_database_url)
    settings.cache_clear()
    fake_model.delay = 0.1  # 240 commits, 4 at a time: several seconds to kill it in
    env = lanes_env | {
        "LANES_DATABASE_URL": migrated_database_url,
        "LANES_LLM_MODEL": "fake-model",
        "LANES_LLM_BASE_URL": fake_model.url,
        "LANES_LLM_API_KEY": API_KEY,
        "LANES_ANALYSIS_CONCURRENCY": "4",
    }
    repository = f"https://example.com/{uuid.uuid4().hex[:8]}"
    commits = [
        {
            "repository": repository,
            "sha": f"{i:08x}{uuid.uuid4().hex[:8]}",
            "author_email": f"dev{i % 3}@example.com",
            "authored_at": datetime(2026, 1, 1, tzinfo=UTC).isoformat(),
            "message": f"feat: step {i}",
            "paths": [f"src/{i}.py"],
            "additions": 5,
            "deletions": 1,
        }
        for i in range(COMMITS)
    ]
    log = tmp_path / "workers.log"
    worker = start_worker(task_queue, env, log)
    replacement: subprocess.Popen[bytes] | None = None
    try:
        job = await dispatch(
            "analyze_commits",
            {"commits": commits},
            task_queue=task_queue,
            # Heartbeat timeout 3 s and a 1 s backoff: the retry comes seconds after the kill.
            options={
                "heartbeat_timeout": 3,
                "retry_policy": {"name": "llm", "initial_interval": 1},
            },
            client=temporal_client,
        )
        at_kill = await wait_for(
            lambda: _at_least(repository, 60), 90, "60 analyses stored before the kill"
        )
        os.kill(worker.pid, signal.SIGKILL)
        worker.wait(10)
        calls_before = fake_model.calls
        replacement = start_worker(task_queue, env, log)
        result = AnalyzeCommitsResult.model_validate(await asyncio.wait_for(job.result(), 120))
    finally:
        for process in (worker, replacement):
            if process is not None and process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(process.pid, signal.SIGKILL)
                process.wait(10)
        settings.cache_clear()

    assert result.attempt == 2, log.read_text()[-3000:]
    assert result.cached >= at_kill >= 60  # kept from the killed attempt: not asked again
    assert await stored(repository) == COMMITS
    # The retry asked only for what was not stored: at most the calls in flight (4) and the
    # answers not yet written (up to 16 per flush, one flush in progress) were lost.
    redone = fake_model.calls - COMMITS
    assert 0 <= redone <= 4 + 2 * 16, (calls_before, fake_model.calls)
    assert result.model_calls == COMMITS - result.cached


async def _at_least(repository: str, n: int) -> int | None:
    count = await stored(repository)
    return count if count >= n else None
