"""Core's wrapper workflows run outside the sandbox; their histories must replay exactly."""

from datetime import timedelta

import pydantic
import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from core import activities
from core.dev.testing import replay, running_worker
from core.dispatch import JobFailedError, dispatch, dispatch_many
from core.workflows import BatchWorkflow, SingleActivityWorkflow

# These tests cover the workflow job engine (SingleActivityWorkflow), which schedules use.
pytestmark = pytest.mark.usefixtures("workflow_engine")


class Parity(pydantic.BaseModel):
    n: int


SEEN: set[str] = set()


@activities.defn(
    queue="replay-test",
    start_to_close=timedelta(seconds=10),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=100), maximum_attempts=3),
)
async def parity(input: Parity) -> str:
    if input.n < 0:
        raise ApplicationError("negative", type="Negative", non_retryable=True)
    if input.n % 5 == 4:
        # Fails its first attempt: the local path's retry is a timer and a later chunk.
        key = f"{activity.info().workflow_id}/{activity.info().activity_id}"
        if key not in SEEN:
            SEEN.add(key)
            raise RuntimeError("first attempt fails")
    return "even" if input.n % 2 == 0 else "odd"


async def test_histories_of_every_path_replay_deterministically(
    temporal_client: Client, task_queue: str
) -> None:
    handles = []
    async with running_worker(temporal_client, task_queue=task_queue, activities=[parity]):
        for options in ({"local": False}, {"local": True}):
            job = await dispatch(parity, Parity(n=3), task_queue=task_queue, options=options)
            assert await job.result() == "odd"
            handles.append(job.handle)
        failing = await dispatch(parity, Parity(n=-1), task_queue=task_queue)
        try:
            await failing.result()
        except JobFailedError:
            handles.append(failing.handle)
        for local in (False, True):
            bulk = await dispatch_many(
                parity,
                [Parity(n=n) for n in range(-2, 30)],
                task_queue=task_queue,
                batch_size=16,
                options={"local": local},
            )
            results = await bulk.results()
            handles.extend(b.handle for b in bulk.batches)
            assert [r.ok for r in results[:2]] == [False, False]
            assert all(r.ok for r in results[2:])
        # A start by hand, no options: the workflow's defaults.
        raw = await temporal_client.start_workflow(
            "SingleActivityWorkflow",
            {"activity": "parity", "input": {"n": 2}},
            id=f"raw-{task_queue}",
            task_queue=task_queue,
        )
        assert await raw.result() == "even"
        handles.append(raw)
    assert len(handles) == 8

    histories = [await h.fetch_history() for h in handles]
    await replay(histories, [SingleActivityWorkflow, BatchWorkflow])
