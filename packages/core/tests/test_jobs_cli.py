"""`lanes jobs` as a person uses it, against the real dev server."""

import asyncio
import time
import uuid

from temporalio.client import Client
from test_cli import lanes

from core import jobs
from core.dev.testing import running_worker
from core.dispatch import dispatch


async def test_list_show_pause_unpause_and_cancel_from_the_shell(
    temporal_client: Client, task_queue: str, lanes_env: dict[str, str]
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue):
        done = await dispatch("lanes.ping", task_queue=task_queue, client=temporal_client)
        await done.result()
    # Nobody serves this queue: the job stays scheduled while we steer it.
    waiting = await dispatch(
        "lanes.ping",
        task_queue=f"{task_queue}-idle",
        id=f"idle-{uuid.uuid4()}",
        client=temporal_client,
    )

    deadline = time.monotonic() + 20
    while True:
        code, out, err = await lanes(
            "jobs", "list", "--activity", "lanes.ping", "--limit", "200", env=lanes_env
        )
        assert code == 0, err
        if done.id in out or time.monotonic() > deadline:
            break
        await asyncio.sleep(0.2)
    assert done.id in out and "completed" in out

    code, out, err = await lanes("jobs", "show", done.id, env=lanes_env)
    assert code == 0, err
    assert "completed" in out and "lanes.ping" in out and task_queue in out
    assert f"/activities/{done.id}/{done.run_id}/details" in out

    code, out, err = await lanes("jobs", "pause", waiting.id, env=lanes_env)
    assert code == 0, err
    assert (await jobs.status(waiting.id, client=temporal_client)).state == "paused"
    code, out, err = await lanes("jobs", "unpause", waiting.id, env=lanes_env)
    assert code == 0, err
    assert (await jobs.status(waiting.id, client=temporal_client)).state == "scheduled"
    code, out, err = await lanes("jobs", "cancel", waiting.id, env=lanes_env)
    assert code == 0, err
    assert (await jobs.status(waiting.id, client=temporal_client)).state == "canceled"

    code, _, err = await lanes("jobs", "show", "no-such-job", env=lanes_env)
    assert code == 1
    assert err.strip() == (
        "lanes: error: no job 'no-such-job' (or it is older than the namespace's retention)"
    )
