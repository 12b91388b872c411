"""The operations lane: installed as a domain, served by its worker, answering on its queue."""

import sys
from pathlib import Path

from temporalio.client import Client

import operations
from core import domains
from core.dev.testing import running_worker
from core.dispatch import dispatch_and_wait
from core.ping import PingResult


def test_the_domain_is_installed_with_its_queue_and_script() -> None:
    assert operations.TASK_QUEUE == "operations"
    assert domains.installed()["operations"] == "operations"
    assert Path(sys.executable).with_name("operations-worker").exists()


async def test_its_worker_answers_ping(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, "operations", task_queue=task_queue):
        result = await dispatch_and_wait("lanes.ping", task_queue=task_queue)
    assert isinstance(result, PingResult)
    assert result.task_queue == task_queue


def test_its_schedules_resolve_to_the_operations_queue() -> None:
    from core.schedules import load_schedules, resolve_all

    resolved = {r.id: r for r in resolve_all(load_schedules("operations"))}
    assert set(resolved) == {
        "operations.heartbeat",
        "operations.uptime-process-due-checks",
        "operations.maintenance-purge",
    }
    uptime = resolved["operations.uptime-process-due-checks"]
    assert (uptime.target_name, uptime.task_queue, uptime.spec_text) == (
        "process_due_checks",
        "operations",
        "every 0:01:00",
    )
    assert resolved["operations.maintenance-purge"].target_name == "purge_expired"
