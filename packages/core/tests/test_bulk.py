"""dispatch_many: every job exactly once with its result, failures per job, and a killed worker."""

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import pydantic
import pytest
from temporalio.api.enums.v1 import EventType
from temporalio.client import Client, WorkflowFailureError
from temporalio.exceptions import ApplicationError

from core import activities
from core.dev.testing import running_worker
from core.dispatch import DispatchError, dispatch_many


class Square(pydantic.BaseModel):
    n: int


@activities.defn(queue="bulk-test", start_to_close=timedelta(seconds=10), local=True)
async def square(input: Square) -> int:
    if input.n % 7 == 3:
        raise ApplicationError(f"{input.n} is unlucky", type="Unlucky", non_retryable=True)
    return input.n * input.n


async def test_every_job_has_its_result_in_order_and_failures_stay_per_job(
    temporal_client: Client, task_queue: str
) -> None:
    inputs = [Square(n=n) for n in range(250)]
    async with running_worker(temporal_client, task_queue=task_queue, activities=[square]):
        bulk = await dispatch_many(square, inputs, task_queue=task_queue, batch_size=100)
        assert len(bulk.batches) == 3 and bulk.started == 3 and bulk.total == 250
        results = await bulk.results()
        progress = await bulk.progress()
    assert [r.key for r in results] == [str(n) for n in range(250)]
    for n, job in enumerate(results):
        if n % 7 == 3:
            assert not job.ok and job.error_type == "Unlucky" and f"{n} is unlucky" in job.error
        else:
            assert job.ok and job.result == n * n
    unlucky = sum(1 for n in range(250) if n % 7 == 3)
    assert progress.total == 250 and progress.done == 250 and progress.failed == unlucky
    # A local activity's jobs ran many to a local activity (the default concurrency of 50 makes
    # chunks of 25): one marker per chunk, no activity tasks.
    history = await bulk.batches[0].handle.fetch_history()
    types = [e.event_type for e in history.events]
    assert types.count(EventType.EVENT_TYPE_MARKER_RECORDED) == 100 // 25
    assert EventType.EVENT_TYPE_ACTIVITY_TASK_SCHEDULED not in types


async def test_the_same_bulk_twice_starts_nothing_new(
    temporal_client: Client, task_queue: str
) -> None:
    inputs = [Square(n=n) for n in range(20)]
    keys = [f"user-{n}" for n in range(20)]
    bulk_id = f"squares-{task_queue}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[square]):
        first = await dispatch_many(
            square, inputs, keys=keys, bulk_id=bulk_id, task_queue=task_queue, batch_size=8
        )
        first_results = await first.results()
        again = await dispatch_many(
            square, inputs, keys=keys, bulk_id=bulk_id, task_queue=task_queue, batch_size=8
        )
        assert again.started == 0 and len(again.batches) == 3
        assert await again.results() == first_results
    assert [r.key for r in first_results] == keys


async def test_bad_bulk_input_starts_nothing(temporal_client: Client, task_queue: str) -> None:
    with pytest.raises(DispatchError, match="invalid input for activity 'square'"):
        await dispatch_many(square, [{"n": 1}, {"n": "two"}], client=temporal_client)
    with pytest.raises(DispatchError, match="job keys must be unique"):
        await dispatch_many(square, [{"n": 1}, {"n": 2}], keys=["a", "a"], client=temporal_client)
    with pytest.raises(DispatchError, match="batch_size must be between 1 and 1000"):
        await dispatch_many(square, [{"n": 1}], batch_size=5000, client=temporal_client)
    runs = [w async for w in temporal_client.list_workflows(f"TaskQueue = '{task_queue}'")]
    assert runs == []


def _effects(db: Path) -> tuple[list[tuple[str, int]], int]:
    with sqlite3.connect(db) as conn:
        effects = conn.execute("SELECT key, value FROM effects ORDER BY key").fetchall()
        executions = conn.execute("SELECT COUNT(*) FROM executions").fetchone()[0]
    return effects, executions


async def test_a_worker_killed_mid_batch_loses_nothing_and_doubles_nothing(
    temporal_client: Client, lanes_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "effects.db"
    env = lanes_env | {"PYTHONPATH": str(Path(__file__).parent)}
    lanes = str(Path(sys.executable).with_name("lanes"))
    argv = [lanes, "worker", "--queues", "operations", "--include", "bulk_activity"]
    first = subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    second: subprocess.Popen[bytes] | None = None
    n = 300
    try:
        bulk = await dispatch_many(
            "test.record_effect",
            [{"db": str(db), "value": v, "sleep": 0.2} for v in range(n)],
            keys=[f"job-{v:03d}" for v in range(n)],
            task_queue="operations",
            batch_size=100,
            concurrency=2,
            # This process does not know the activity (only the workers import it): the call
            # says how its jobs run.
            options={"local": True},
            client=temporal_client,
        )
        deadline = time.monotonic() + 60
        while (await bulk.progress()).done < 30:
            assert time.monotonic() < deadline, "the first worker never got going"
            await asyncio.sleep(0.2)
        os.kill(first.pid, signal.SIGKILL)
        first.wait()
        # No worker is left to answer queries: count what the dead worker got done.
        done_at_kill = len(_effects(db)[0])
        assert done_at_kill < n

        second = subprocess.Popen(
            argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        results = await asyncio.wait_for(bulk.results(), 120)
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()

    assert [r.key for r in results] == [f"job-{v:03d}" for v in range(n)]
    assert all(r.ok for r in results)
    assert [r.result for r in results] == [2 * v for v in range(n)]
    effects, executions = _effects(db)
    assert effects == [(f"job-{v:03d}", v) for v in range(n)]
    # Jobs whose completion died with the first worker ran again; their effect did not.
    assert executions >= n
    print(f"killed after {done_at_kill}/{n} jobs; {executions - n} re-executions, 0 duplicates")


async def test_a_batch_started_by_hand_without_input_fails_at_once(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[square]):
        with pytest.raises(WorkflowFailureError) as caught:
            await asyncio.wait_for(
                temporal_client.execute_workflow(
                    "BatchWorkflow", id=f"raw-batch-{task_queue}", task_queue=task_queue
                ),
                10,
            )
    cause = caught.value.cause
    assert isinstance(cause, ApplicationError) and cause.type == "InvalidInput"
    assert "BatchWorkflow takes exactly one JSON object input (BatchInput); got 0 inputs" in str(
        cause
    )
