"""`lanes dev` as a person (or a supervisor) runs it: state at the workspace root, one `lanes dev`
per state folder, one drain however SIGINT arrives, errors that name the cause, `--reload`."""

import asyncio
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

from temporalio.client import Client

from core.dev.server import free_port

LANES = str(Path(sys.executable).with_name("lanes"))


def dev_env(lanes_env: dict[str, str]) -> dict[str, str]:
    """A fresh machine's environment: no server, no database URL, no LANES_HOME."""
    env = {
        k: v
        for k, v in lanes_env.items()
        if not k.startswith("TEMPORAL_") and k not in ("LANES_DATABASE_URL", "LANES_HOME")
    }
    return env | {"LANES_HEALTH_PORT": "0"}


@contextmanager
def lanes_dev(
    *args: str, cwd: Path, env: dict[str, str], log: Path
) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [LANES, "dev", *args], cwd=cwd, env=env, stdout=out, stderr=subprocess.STDOUT
        )
        try:
            yield proc
        finally:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


async def wait_for(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 90) -> str:
    deadline = time.monotonic() + timeout
    while text not in log.read_text():
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        await asyncio.sleep(0.2)
    return log.read_text()


def ports() -> list[str]:
    return ["--port", str(free_port()), "--ui-port", str(free_port())]


async def test_state_at_the_root_one_dev_per_folder_and_one_drain_for_a_doubled_sigint(
    tmp_path: Path, lanes_env: dict[str, str]
) -> None:
    workspace = tmp_path / "ws"
    subfolder = workspace / "packages" / "thing"
    subfolder.mkdir(parents=True)
    (workspace / "pyproject.toml").write_text('[tool.uv.workspace]\nmembers = ["packages/*"]\n')
    env = dev_env(lanes_env)
    log = tmp_path / "first.log"
    with lanes_dev(*ports(), cwd=subfolder, env=env, log=log) as first:
        text = await wait_for(log, "workers ", first)
        state = workspace / ".lanes"
        assert f"(state in {state}/temporal.db)" in text
        assert (state / "temporal.db").exists() and (state / "lanes.db").exists()
        assert not (subfolder / ".lanes").exists()

        second = subprocess.run(
            [LANES, "dev", *ports()], cwd=workspace, env=env, capture_output=True, timeout=60
        )
        assert second.returncode == 1
        assert second.stderr.decode().strip() == (
            f"lanes: error: another `lanes dev` (PID {first.pid}) is using {state}: stop it "
            "first, or set LANES_HOME to another folder for a second, separate state"
        )

        # What `uv run` without a terminal does with one Ctrl-C: SIGINT, and again at once.
        first.send_signal(signal.SIGINT)
        await asyncio.sleep(0.05)
        first.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(first.wait, 60) == 0, log.read_text()
    text = log.read_text()
    assert "draining the workers" in text and "Temporal server stopped" in text
    assert "second Ctrl-C" not in text


async def test_errors_name_the_real_cause(tmp_path: Path, lanes_env: dict[str, str]) -> None:
    env = dev_env(lanes_env)
    (tmp_path / "a-file").write_text("")
    unusable = tmp_path / "a-file" / ".lanes"
    done = subprocess.run(
        [LANES, "dev", *ports()],
        cwd=tmp_path,
        env=env | {"LANES_HOME": str(unusable)},
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr.decode().strip() == (
        f"lanes: error: cannot keep lanes dev state in {unusable}: Not a directory; fix the "
        "folder's permissions, or set LANES_HOME to a folder you can write"
    )

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        ui_port = busy.getsockname()[1]
        done = subprocess.run(
            [LANES, "dev", "--port", str(free_port()), "--ui-port", str(ui_port)],
            cwd=tmp_path,
            env=env | {"LANES_HOME": str(tmp_path / ".lanes")},
            capture_output=True,
            timeout=60,
        )
    assert done.returncode == 1
    assert f"lanes: error: the Temporal UI port {ui_port} on 127.0.0.1 is already in use" in (
        done.stderr.decode()
    )


PROBE = """
from core import activities


@activities.defn(name="{name}", queue="sync")
async def reload_probe() -> str:
    return "{answer}"
"""


async def test_reload_restarts_the_workers_on_a_change_and_the_next_job_runs_the_new_code(
    tmp_path: Path, lanes_env: dict[str, str]
) -> None:
    module = f"reload_probe_{uuid.uuid4().hex[:8]}"
    source = tmp_path / "src" / f"{module}.py"
    source.parent.mkdir()
    source.write_text(PROBE.format(name=module, answer="before"))
    env = dev_env(lanes_env) | {
        "LANES_HOME": str(tmp_path / ".lanes"),
        "PYTHONPATH": str(source.parent),
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    port = free_port()
    log = tmp_path / "dev.log"
    args = ["--port", str(port), "--ui-port", str(free_port()), "--reload", "--include", module]
    with lanes_dev(*args, cwd=tmp_path, env=env, log=log) as dev:
        await wait_for(log, "reloading on changes", dev)
        client = await Client.connect(f"127.0.0.1:{port}")

        async def job() -> str:
            result: str = await client.execute_workflow(
                "SingleActivityWorkflow",
                {"activity": module},
                id=f"reload-{uuid.uuid4().hex[:8]}",
                task_queue="sync",
                execution_timeout=timedelta(seconds=60),
            )
            return result

        assert await job() == "before"
        source.write_text(PROBE.format(name=module, answer="after"))
        await wait_for(log, f"restarted after a change to {source.name}", dev)
        assert await job() == "after"

        dev.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(dev.wait, 60) == 0, log.read_text()
    assert "Temporal server stopped" in log.read_text()


async def test_python_m_domain_worker_runs_the_worker(lanes_env: dict[str, str]) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "sync.worker",
        env=lanes_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    assert proc.stdout is not None
    seen = b""
    try:
        async with asyncio.timeout(60):
            while b"serving queues sync" not in seen:
                line = await proc.stdout.readline()
                assert line, seen.decode()
                seen += line
        proc.send_signal(signal.SIGTERM)
        assert await asyncio.wait_for(proc.wait(), 60) == 0
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
