"""A worker whose database schema is behind refuses to start and says what to run."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

from core.db import migrations

SYNC_WORKER = str(Path(sys.executable).parent / "sync-worker")


async def test_worker_refuses_an_old_schema_then_starts_once_upgraded(
    lanes_env: dict[str, str], database_url: str
) -> None:
    env = dict(lanes_env, LANES_DATABASE_URL=database_url)

    refused = await asyncio.create_subprocess_exec(
        SYNC_WORKER, env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    try:
        _, err = await asyncio.wait_for(refused.communicate(), 60)
    finally:
        _kill(refused.pid)
    stderr = err.decode()
    assert refused.returncode == 1, stderr
    assert "schema is behind this code: core at nothing" in stderr
    assert "Run `lanes db upgrade`" in stderr
    assert "serving queues" not in stderr

    await migrations.upgrade(url=database_url)
    worker = await asyncio.create_subprocess_exec(
        SYNC_WORKER, env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE
    )
    try:
        assert worker.stderr is not None
        seen = ""
        while "serving queues" not in seen:
            line = await asyncio.wait_for(worker.stderr.readline(), 60)
            assert line, f"worker exited before serving: {seen}"
            seen += line.decode()
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(worker.wait(), 60) == 0
    finally:
        _kill(worker.pid)


def _kill(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
