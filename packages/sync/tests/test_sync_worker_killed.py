"""A `sync-worker` SIGKILLed mid-sync: another worker resumes from the heartbeat cursor."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
from sync_test_github import FakeGitHub
from sync_test_support import count, distinct_shas, runs
from temporalio.client import ActivityHandle, Client

from core.dispatch import dispatch
from sync.models import Commit

SYNC_WORKER = str(Path(sys.executable).parent / "sync-worker")
URL = "https://github.com/acme/huge"


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    out = log.open("ab")
    try:
        return subprocess.Popen([SYNC_WORKER], env=env, stdout=out, stderr=out)
    finally:
        out.close()


async def wait_for(predicate: Any, timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def _heartbeat_past(client: Client, handle: Any, minimum: int) -> tuple[int, int] | None:
    """(pages, worker pid) once the server has heard the sync heartbeat past ``minimum`` pages."""
    if isinstance(handle, ActivityHandle):  # the standalone-activity engine
        described = await handle.describe(include_heartbeat_details=True)
        details = await described.heartbeat_details() if described.has_heartbeat_details() else None
        identity = described.last_worker_identity
    else:  # LANES_DISPATCH_MODE=workflow: the activity pending in its SingleActivityWorkflow
        details, identity = None, None
        for pending in (await handle.describe()).raw_description.pending_activities:
            if pending.heartbeat_details.payloads:
                details = await client.data_converter.decode(pending.heartbeat_details.payloads)
                identity = pending.last_worker_identity
    if details and identity:
        pages = int(details[0].get("pages", 0))
        if pages >= minimum:
            return pages, int(identity.split("@")[0])
    return None


@pytest.mark.parametrize("mode", ["activity", "workflow"])
async def test_a_killed_worker_is_replaced_and_the_sync_resumes_where_it_stopped(
    temporal_client: Client,
    lanes_env: dict[str, str],
    migrated_database_url: str,
    fake_github: FakeGitHub,
    github_env: dict[str, str],
    monkeypatch: Any,
    tmp_path: Path,
    mode: str,
) -> None:
    from core.settings import settings

    monkeypatch.setenv("LANES_DISPATCH_MODE", mode)  # both job engines survive the kill
    settings.cache_clear()
    fake_github.add_repo("acme", "huge", commits=5000)
    fake_github.delay = 0.05  # 50 pages: long enough to kill the worker in the middle
    env = lanes_env | github_env | {"LANES_DATABASE_URL": migrated_database_url}
    log = tmp_path / "workers.log"
    # Two replicas, as in production: the one running the sync is killed, the other takes over.
    workers = {w.pid: w for w in (start_worker(env, log), start_worker(env, log))}
    try:
        job = await dispatch(
            "sync_repository",
            {"url": URL},
            task_queue="sync",
            # Heartbeat timeout 3 s and a 1 s backoff: the retry comes seconds after the kill.
            options={
                "heartbeat_timeout": 3,
                "retry_policy": {"name": "github_sync", "initial_interval": 1},
            },
            client=temporal_client,
        )
        pages_at_kill, running_on = await wait_for(
            lambda: _heartbeat_past(temporal_client, job.handle, 5),
            90,
            "the sync to heartbeat past page 5",
        )
        os.kill(running_on, signal.SIGKILL)
        workers[running_on].wait(10)
        requested_before_kill = len(fake_github.requests("commits"))
        result = await asyncio.wait_for(job.result(), 90)
    finally:
        for worker in workers.values():
            if worker.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(worker.pid, signal.SIGKILL)
                worker.wait(10)

    assert result.attempt == 2, log.read_text()[-3000:]
    assert result.resumed_from is not None
    assert result.resumed_from["pages"] >= pages_at_kill >= 5
    assert len(fake_github.requests("commits", page=1)) == 1  # it did not start over
    resumed_page = result.resumed_from["pages"] + 1
    assert len(fake_github.requests("commits", page=resumed_page)) == 2  # read again on resume
    assert requested_before_kill < 50
    monkeypatch.setenv("LANES_DATABASE_URL", migrated_database_url)
    from core.settings import settings

    settings.cache_clear()
    try:
        assert await count(Commit, result.repository_id) == 5000
        assert await distinct_shas(result.repository_id) == 5000
        [run] = await runs(result.repository_id)
        assert (run.status, run.attempts, run.commits_inserted) == ("succeeded", 2, 5000)
    finally:
        settings.cache_clear()
    assert "starts from cursor" in log.read_text()
