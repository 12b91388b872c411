"""The `lanes` command as a person uses it, against the real dev server."""

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import sqlalchemy as sa
from temporalio.client import Client

from core.db import dispose_engines, get_engine
from core.dev.server import free_port, port_in_use
from core.dev.testing import running_worker

LANES = str(Path(sys.executable).with_name("lanes"))


async def lanes(*args: str, env: dict[str, str], timeout: float = 60) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        LANES, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), timeout)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_dispatch_wait_prints_the_result(
    temporal_client: Client, task_queue: str, lanes_env: dict[str, str]
) -> None:
    async with running_worker(temporal_client, task_queue=task_queue):
        code, out, err = await lanes(
            "dispatch",
            "lanes.ping",
            "--queue",
            task_queue,
            "--input",
            '{"echo": "hi"}',
            "--wait",
            env=lanes_env,
        )
    assert code == 0, err
    printed = json.loads(out)
    assert printed["started"] is True
    assert printed["result"]["echo"] == "hi"
    assert printed["result"]["task_queue"] == task_queue


async def test_the_same_id_twice_starts_one_job(
    temporal_client: Client, task_queue: str, lanes_env: dict[str, str]
) -> None:
    job_id = f"cli-dup-{uuid.uuid4()}"
    args = ("dispatch", "lanes.ping", "--queue", task_queue, "--id", job_id)
    async with running_worker(temporal_client, task_queue=task_queue):
        first = await lanes(*args, env=lanes_env)
        second = await lanes(*args, env=lanes_env)
    assert json.loads(first[1])["started"] is True
    assert json.loads(second[1])["started"] is False
    assert f"already dispatched: {job_id}" in second[2]
    assert (await temporal_client.count_activities(f"ActivityId = '{job_id}'")).count == 1


async def test_input_from_a_file_or_stdin(
    temporal_client: Client, task_queue: str, lanes_env: dict[str, str], tmp_path: Path
) -> None:
    payload = tmp_path / "input.json"
    payload.write_text('{"echo": "from a file"}')
    base = ("dispatch", "lanes.ping", "--queue", task_queue, "--wait")
    async with running_worker(temporal_client, task_queue=task_queue):
        code, out, err = await lanes(*base, "--input", f"@{payload}", env=lanes_env)
        assert code == 0, err
        assert json.loads(out)["result"]["echo"] == "from a file"
        proc = await asyncio.create_subprocess_exec(
            LANES,
            *base,
            "--input",
            "-",
            env=lanes_env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        out_b, err_b = await asyncio.wait_for(proc.communicate(b'{"echo": "from stdin"}'), 60)
        assert proc.returncode == 0, err_b.decode()
        assert json.loads(out_b)["result"]["echo"] == "from stdin"
    code, _, err = await lanes(
        "dispatch",
        "lanes.ping",
        "--queue",
        task_queue,
        "--input",
        "@/nonexistent.json",
        env=lanes_env,
    )
    assert code == 2 and "cannot read /nonexistent.json" in err


async def test_wait_on_a_queue_nobody_polls_warns(
    task_queue: str, lanes_env: dict[str, str]
) -> None:
    proc = await asyncio.create_subprocess_exec(
        LANES,
        "dispatch",
        "lanes.ping",
        "--queue",
        task_queue,
        "--wait",
        env=lanes_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    assert proc.stderr is not None
    try:
        line = await asyncio.wait_for(proc.stderr.readline(), 60)
    finally:
        proc.kill()
        await proc.wait()
    assert f"warning: no worker polls task queue '{task_queue}'" in line.decode()


async def test_errors_are_one_clear_line(lanes_env: dict[str, str]) -> None:
    code, _, err = await lanes("dispatch", "lanes.ping", "--input", "{nope", env=lanes_env)
    assert code == 2 and "--input is not valid JSON" in err

    code, _, err = await lanes(
        "dispatch", "lanes.ping", "--queue", "q", "--delay", "nan", env=lanes_env
    )
    assert code == 2 and "--delay must be a number of seconds >= 0, got nan" in err

    code, _, err = await lanes(
        "dispatch",
        "lanes.ping",
        "--queue",
        "nowhere",
        "--options",
        '{"retry_policy": "nosuchpolicy"}',
        env=lanes_env,
    )
    assert code == 1 and "nosuchpolicy" in err and len(err.strip().splitlines()) == 1

    code, _, err = await lanes("dispatch", "no_such_activity", env=lanes_env)
    assert code == 1
    assert err.strip() == (
        "lanes: error: activity 'no_such_activity' is not registered in this process; "
        "pass task_queue= to say which worker runs it"
    )

    unreachable = lanes_env | {"TEMPORAL_ADDRESS": f"127.0.0.1:{free_port()}"}
    code, _, err = await lanes("dispatch", "lanes.ping", "--queue", "sync", env=unreachable)
    assert code == 1
    assert len(err.strip().splitlines()) == 1
    assert "cannot reach Temporal at 127.0.0.1:" in err and "lanes dev" in err


async def test_check_lists_every_domain(lanes_env: dict[str, str]) -> None:
    code, out, err = await lanes("check", env=lanes_env)
    assert code == 0, err
    for domain in (
        "sync (queue sync",
        "analysis (queue analysis",
        "email (queue email, package mail",
    ):
        assert domain in out


async def test_lanes_dev_brings_up_server_and_four_lanes_then_stops_cleanly(
    tmp_path: Path, lanes_env: dict[str, str]
) -> None:
    port, ui_port = free_port(), free_port()
    # No TEMPORAL_* and no LANES_DATABASE_URL: `lanes dev` starts its own server and migrates
    # its own SQLite file under LANES_HOME, as on a fresh machine.
    env = {
        k: v
        for k, v in lanes_env.items()
        if not k.startswith("TEMPORAL_") and k != "LANES_DATABASE_URL"
    }
    env |= {"LANES_HOME": str(tmp_path / ".lanes"), "LANES_HEALTH_PORT": "0"}
    log = (tmp_path / "dev.log").open("wb")
    dev = subprocess.Popen(
        [LANES, "dev", "--port", str(port), "--ui-port", str(ui_port)],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 90
        while "workers " not in (tmp_path / "dev.log").read_text():
            assert dev.poll() is None, (tmp_path / "dev.log").read_text()
            assert time.monotonic() < deadline, (tmp_path / "dev.log").read_text()
            await asyncio.sleep(0.2)
        text = (tmp_path / "dev.log").read_text()
        assert f"Temporal UI      http://127.0.0.1:{ui_port}" in text
        database = tmp_path / ".lanes" / "lanes.db"
        # Migrated before the workers start: the line comes first.
        assert (
            f"database         sqlite+aiosqlite:///{database}  (migrated to head)"
            in (text.split("workers ")[0])
        )
        assert port_in_use("127.0.0.1", ui_port)

        code, out, err = await lanes("ping", env=env | {"TEMPORAL_ADDRESS": f"127.0.0.1:{port}"})
        assert code == 0, out + err
        for queue in ("analysis", "email", "operations", "sync"):
            assert any(line.startswith(queue) and " ms " in line for line in out.splitlines())

        dev.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(dev.wait, 60) == 0, (tmp_path / "dev.log").read_text()
        assert "Temporal server stopped" in (tmp_path / "dev.log").read_text()
        assert not port_in_use("127.0.0.1", port)
        assert (tmp_path / ".lanes" / "temporal.db").exists()
        url = f"sqlite+aiosqlite:///{tmp_path / '.lanes' / 'lanes.db'}"
        try:
            async with get_engine(url).connect() as conn:
                names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
        finally:
            await dispose_engines()
        assert "lanes_idempotency" in names
    finally:
        if dev.poll() is None:
            os.kill(dev.pid, signal.SIGKILL)
            dev.wait()
        log.close()
