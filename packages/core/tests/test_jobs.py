"""Job operations (core.jobs) against the real dev server: status, cancel, pause/unpause, list."""

import asyncio
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import pytest
from temporalio import activity
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError, CancelledError

from core import activities, jobs
from core.dev.testing import running_worker
from core.dispatch import JobFailedError, dispatch
from core.jobs import JobState

ATTEMPTS: dict[str, list[int]] = {}
ENDED: dict[str, list[str]] = {}


@activities.defn(
    name="jobs_test.heartbeating",
    queue="jobs-test",
    heartbeat=timedelta(seconds=1),
    retry=RetryPolicy(initial_interval=timedelta(milliseconds=200), maximum_attempts=5),
)
async def heartbeating(key: str) -> int:
    """Heartbeats until cancelled on its first attempt; any later attempt returns at once."""
    attempt = activity.info().attempt
    ATTEMPTS.setdefault(key, []).append(attempt)
    if attempt > 1:
        return attempt
    try:
        while True:
            activity.heartbeat()
            await asyncio.sleep(0.1)
    except (asyncio.CancelledError, CancelledError):
        details = activity.cancellation_details()
        ENDED.setdefault(key, []).append("paused" if details and details.paused else "cancelled")
        raise


@activities.defn(name="jobs_test.fails", queue="jobs-test", retry=RetryPolicy(maximum_attempts=1))
async def fails(key: str) -> None:
    raise ApplicationError(f"nope {key}", type="Nope")


async def until(check: Callable[[], Awaitable[Any]], what: str, timeout: float = 20) -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := await check():
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out waiting for {what}")


async def running(job_id: str, client: Client) -> jobs.JobStatus | None:
    status = await jobs.status(job_id, client=client)
    return status if status.state == JobState.RUNNING else None


async def test_a_heartbeating_job_is_cancelled(temporal_client: Client, task_queue: str) -> None:
    key = f"cancel-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[heartbeating]):
        job = await dispatch(heartbeating, key, task_queue=task_queue, client=temporal_client)
        status = await until(lambda: running(job.id, temporal_client), "the job to run")
        assert (status.activity, status.attempt, status.task_queue) == (
            "jobs_test.heartbeating",
            1,
            task_queue,
        )
        assert status.ui_url.endswith(
            f"/namespaces/default/activities/{job.id}/{job.run_id}/details"
        )
        await jobs.cancel(job.id, reason="test", client=temporal_client)
        with pytest.raises(JobFailedError) as caught:
            await asyncio.wait_for(job.result(), 20)
    assert isinstance(caught.value.cause, CancelledError)
    assert ENDED[key] == ["cancelled"]
    assert ATTEMPTS[key] == [1]
    final = await jobs.status(job.id, client=temporal_client)
    assert final.state == JobState.CANCELED and final.finished


async def test_a_paused_job_waits_until_unpaused(temporal_client: Client, task_queue: str) -> None:
    key = f"pause-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[heartbeating]):
        job = await dispatch(heartbeating, key, task_queue=task_queue, client=temporal_client)
        await until(lambda: running(job.id, temporal_client), "the job to run")
        await jobs.pause(job.id, client=temporal_client)

        async def first_attempt_ended() -> bool:
            return ENDED.get(key) == ["paused"]

        await until(first_attempt_ended, "the running attempt to see the pause")
        # The retry interval is 0.2 s: a second attempt would have started well within 1 s.
        await asyncio.sleep(1)
        status = await jobs.status(job.id, client=temporal_client)
        assert status.state == JobState.PAUSED and not status.finished
        assert ATTEMPTS[key] == [1]

        await jobs.unpause(job.id, client=temporal_client)
        assert await asyncio.wait_for(job.result(), 20) == 2
    assert ATTEMPTS[key] == [1, 2]
    assert (await jobs.status(job.id, client=temporal_client)).state == JobState.COMPLETED


async def test_terminate_ends_the_job_and_result_by_id_reports_it(
    temporal_client: Client, task_queue: str
) -> None:
    key = f"terminate-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue, activities=[heartbeating]):
        job = await dispatch(heartbeating, key, task_queue=task_queue, client=temporal_client)
        await until(lambda: running(job.id, temporal_client), "the job to run")
        await jobs.terminate(job.id, reason="operator", client=temporal_client)
        with pytest.raises(JobFailedError):
            await asyncio.wait_for(jobs.result(job.id, client=temporal_client), 20)
    assert (await jobs.status(job.id, client=temporal_client)).state == JobState.TERMINATED


async def test_list_filters_by_activity_and_state_newest_first(
    temporal_client: Client, task_queue: str
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue, activities=[fails]):
        failed = await dispatch(fails, "a", task_queue=task_queue, client=temporal_client)
        with pytest.raises(JobFailedError):
            await failed.result()
        ok = [
            await dispatch("lanes.ping", task_queue=task_queue, client=temporal_client)
            for _ in range(3)
        ]
        for job in ok:
            await job.result()

    status = await jobs.status(failed.id, client=temporal_client)
    assert status.state == JobState.FAILED
    assert status.last_error == "Nope: nope a"

    async def listed() -> list[jobs.JobStatus] | None:
        found = await jobs.list_jobs(activity="lanes.ping", limit=500, client=temporal_client)
        mine = [j for j in found if j.task_queue == task_queue]
        return mine if len(mine) == 3 else None

    mine = await until(listed, "visibility to list the pings")
    assert [j.id for j in mine] == [j.id for j in reversed(ok)]
    assert all(j.state == JobState.COMPLETED for j in mine)

    async def failed_listed() -> list[jobs.JobStatus] | None:
        found = await jobs.list_jobs(state="failed", limit=500, client=temporal_client)
        return [j for j in found if j.id == failed.id] or None

    [only] = await until(failed_listed, "visibility to list the failed job")
    assert only.activity == "jobs_test.fails"
    # No filter: the most recent jobs of every kind, newest first.
    recent = await jobs.list_jobs(limit=5, client=temporal_client)
    assert 0 < len(recent) <= 5
    assert [j.scheduled_at for j in recent] == sorted(
        (j.scheduled_at for j in recent), reverse=True
    )


async def test_an_unknown_id_is_not_found(temporal_client: Client) -> None:
    with pytest.raises(jobs.JobNotFound, match="no job 'nothing-here'"):
        await jobs.status("nothing-here", client=temporal_client)
