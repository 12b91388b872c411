"""A rolling deploy on the workflow path: two worker versions on one queue, one of them serving an
activity the other lacks. Every job completes; none fails or wedges, whichever worker runs its
workflow, because the job carries what it runs and the workflow never asks the worker's registry.
"""

import asyncio
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client, WorkflowHandle
from version_two_activity import Item, version_two

from core import activities
from core._jobs import job_options
from core.activities import ActivityOptions
from core.dev.testing import replay
from core.dispatch import dispatch_many
from core.workflows import BatchWorkflow, SingleActivityInput, SingleActivityWorkflow

QUEUE = "operations"


@contextmanager
def two_versions(env: dict[str, str]) -> Iterator[tuple[int, int]]:
    """The old worker (no ``test.version_two``) and the new one, both on ``QUEUE``."""
    env = env | {"PYTHONPATH": str(Path(__file__).parent)}
    lanes = str(Path(sys.executable).with_name("lanes"))
    base = [lanes, "worker", "--queues", QUEUE]
    procs = [
        subprocess.Popen(base, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL),
        subprocess.Popen(
            [*base, "--include", "version_two_activity"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        ),
    ]
    try:
        yield procs[0].pid, procs[1].pid
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


async def both_polling(client: Client, pids: tuple[int, int]) -> None:
    """Wait until both workers poll the queue for workflow tasks, so both get some."""
    request = DescribeTaskQueueRequest(
        namespace=client.namespace,
        task_queue=TaskQueue(name=QUEUE),
        task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW,
    )
    for _ in range(300):
        response = await client.workflow_service.describe_task_queue(request)
        polling = {p.identity.split("@")[0] for p in response.pollers}
        if {str(pid) for pid in pids} <= polling:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"workers {pids} never polled {QUEUE!r}")


async def start_job(client: Client, n: int, local: bool) -> WorkflowHandle[object, object]:
    """A workflow-path job, built as ``dispatch`` builds it (whatever its default mode)."""
    config = activities.get("test.version_two")
    options = job_options(config, ActivityOptions(local=local), QUEUE)
    return await client.start_workflow(
        SingleActivityWorkflow.run,
        SingleActivityInput(activity=config.name, input={"n": n}, options=options),
        id=f"v2-{n}-{uuid.uuid4()}",
        task_queue=QUEUE,
    )


async def ran_on(handle: WorkflowHandle[object, object], pid: int) -> bool:
    """Whether the worker with ``pid`` completed any of this workflow's tasks."""
    history = await handle.fetch_history()
    return any(
        e.workflow_task_completed_event_attributes.identity.startswith(f"{pid}@")
        for e in history.events
        if e.HasField("workflow_task_completed_event_attributes")
    )


async def test_two_worker_versions_on_one_queue_complete_every_job(
    temporal_client: Client, lanes_env: dict[str, str]
) -> None:
    with two_versions(lanes_env) as pids:
        await both_polling(temporal_client, pids)
        old_pid = pids[0]
        singles = [await start_job(temporal_client, n, local=n % 2 == 0) for n in range(30)]
        bulk = await dispatch_many(
            version_two,
            [Item(n=n) for n in range(200)],
            keys=[f"item-{n}" for n in range(200)],
            task_queue=QUEUE,
            batch_size=20,
            options={"local": True},
            client=temporal_client,
        )
        results = await asyncio.wait_for(asyncio.gather(*(h.result() for h in singles)), 120)
        jobs = await asyncio.wait_for(bulk.results(), 120)
        handles = [*singles, *(b.handle for b in bulk.batches)]
        on_old = [await ran_on(h, old_pid) for h in handles]

    assert [str(r).split(":")[1] for r in results] == [str(n) for n in range(30)]
    assert all(str(r).startswith("v2:") for r in results)
    assert all(j.ok for j in jobs), [j for j in jobs if not j.ok][:3]
    assert [j.result for j in jobs] == [f"v2:{n}:item-{n}" for n in range(200)]
    # The old worker did run some of these workflows: it sent their jobs to the queue instead of
    # failing them (a local job it cannot run) or refusing the name.
    assert any(on_old), "the old worker ran none of the workflows; the test proved nothing"
    # And every history replays on today's code, with no registry in sight.
    await replay(
        [await h.fetch_history() for h in handles], [SingleActivityWorkflow, BatchWorkflow]
    )
