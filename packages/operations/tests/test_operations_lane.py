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
