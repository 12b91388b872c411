"""A worker imports what its activities use when a job needs it, not when it starts.

``activities.preload`` imports in a thread: the event loop keeps running other jobs and sends the
activity's heartbeats while a slow import runs. Every installed domain's worker graph (its
activities, workflows and the worker runtime) is checked for the heavy libraries its jobs load
on first use.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client

from core import activities, domains
from core.dev.testing import running_worker
from core.dispatch import JobFailedError, dispatch

IMPORT_SECONDS = 4.0
"""How long the test module's import takes: four heartbeat timeouts of the activity below."""


@activities.defn(
    name="test.uses_a_slow_module",
    queue="preload-test",
    heartbeat=timedelta(seconds=1),
    start_to_close=timedelta(seconds=60),
)
async def uses_a_slow_module(module: str) -> int:
    await activities.preload(module)
    return activity.info().attempt


def slow_module(where: Path) -> str:
    name = f"slow_import_{uuid.uuid4().hex[:8]}"
    source = f"import time\n\ntime.sleep({IMPORT_SECONDS})\nLOADED = True\n"
    (where / f"{name}.py").write_text(source)
    return name


async def test_preload_keeps_the_loop_running_and_heartbeats_through_a_slow_import(
    temporal_client: Client, task_queue: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.syspath_prepend(str(tmp_path))
    module = slow_module(tmp_path)
    async with running_worker(
        temporal_client, task_queue=task_queue, activities=[uses_a_slow_module]
    ):
        slow = await dispatch(
            uses_a_slow_module,
            module,
            task_queue=task_queue,
            options={"retry_policy": {"maximum_attempts": 1}},  # a heartbeat timeout fails it
        )
        await asyncio.sleep(0.5)  # the import has begun
        ping = await dispatch("lanes.ping", task_queue=task_queue)
        await asyncio.wait_for(ping.result(), 30)
        assert module in sys.modules  # the ping ran while the import was still going on...
        assert not hasattr(sys.modules[module], "LOADED")  # ...half done
        try:
            attempt = await asyncio.wait_for(slow.result(), 60)
        except JobFailedError as err:
            pytest.fail(f"the job failed while its import ran: {err}")
    assert attempt == 1
    assert sys.modules[module].LOADED


async def test_preload_of_what_is_loaded_already_returns_at_once() -> None:
    await activities.preload("json", "asyncio")  # no thread, no activity context needed


HEAVY = ("sqlalchemy", "alembic", "httpx", "aiosmtplib", "jinja2", "pydantic_ai", "openai")
"""Libraries a job loads on first use."""
NEVER = ("rich", "cryptography")
"""Never a worker's without encryption keys: the CLI's tables; the codec's cipher."""


@pytest.mark.parametrize("domain", sorted(domains.installed()))
def test_a_domain_worker_starts_without_its_jobs_libraries(domain: str) -> None:
    probe = textwrap.dedent(
        f"""
        import json, sys
        import core.worker
        from core import domains, telemetry
        telemetry.configure_logging()
        domains.load({domain!r})
        heavy = {(*HEAVY, *NEVER)!r}
        print(json.dumps(sorted(m for m in heavy if m in sys.modules)))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == []
