"""A real `sync-worker` process: readiness, ping from the CLI, and a graceful drain on SIGTERM."""

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from subprocess import Popen

import aiohttp
import slow_activity  # noqa: F401 - registers test.slow_step, so dispatch validates its input
from temporalio.client import Client

from core import jobs
from core import worker as worker_module
from core.dev.server import free_port
from core.dispatch import dispatch

TESTS = Path(__file__).parent
BIN = Path(sys.executable).parent


async def wait_until(predicate, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if await predicate():
            return
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def readyz(port: int) -> int:
    try:
        async with (
            aiohttp.ClientSession() as session,
            session.get(
                f"http://127.0.0.1:{port}/readyz", timeout=aiohttp.ClientTimeout(total=1)
            ) as response,
        ):
            return response.status
    except (aiohttp.ClientError, TimeoutError):
        return 0


@contextlib.contextmanager
def slow_sync_worker(
    lanes_env: dict[str, str], tmp_path: Path
) -> Iterator[tuple[Popen[bytes], int]]:
    """A real ``sync-worker`` that also serves ``test.slow_step``, logging to ``worker.log``;
    yields the process and its health port, and kills it if a test left it running."""
    port = free_port()
    env = lanes_env | {
        "LANES_HEALTH_PORT": str(port),
        "LANES_HEALTH_HOST": "127.0.0.1",
        "LANES_INCLUDE": "slow_activity",
        "LANES_SHUTDOWN_TIMEOUT": "20",
        "PYTHONPATH": str(TESTS),
    }
    with (tmp_path / "worker.log").open("wb") as log:
        worker = subprocess.Popen([BIN / "sync-worker"], env=env, stdout=log, stderr=log)
        try:
            yield worker, port
        finally:
            if worker.poll() is None:
                os.kill(worker.pid, signal.SIGKILL)
                worker.wait()


async def test_sigterm_lets_the_running_activity_finish_then_exits_0(
    temporal_client: Client, lanes_env: dict[str, str], tmp_path: Path
) -> None:
    with slow_sync_worker(lanes_env, tmp_path) as (worker, port):
        try:
            await wait_until(lambda: _is(readyz(port), 200), 30, "the worker's /readyz")
        except AssertionError:
            raise AssertionError((tmp_path / "worker.log").read_text()) from None

        ping = subprocess.run(
            [BIN / "lanes", "ping", "sync"],
            env=lanes_env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ping.returncode == 0, ping.stderr
        assert ping.stdout.startswith("sync") and "ms" in ping.stdout

        job = await dispatch(
            "test.slow_step",
            {"seconds": 3, "marker_dir": str(tmp_path)},
            task_queue="sync",
            client=temporal_client,
        )
        await wait_until(lambda: _exists(tmp_path / "started"), 15, "the activity to start")
        signalled = time.monotonic()
        worker.send_signal(signal.SIGTERM)
        await wait_until(lambda: _is(readyz(port), 503), 5, "/readyz to report draining")
        code = await asyncio.to_thread(worker.wait, 30)
        drained_in = time.monotonic() - signalled

        assert code == 0, (tmp_path / "worker.log").read_text()
        assert (tmp_path / "finished").read_text() == "1"
        assert drained_in < 20  # it waited for the activity, not for the whole drain timeout
        assert "shutdown complete" in (tmp_path / "worker.log").read_text()

        # The activity finished inside the drain and its result is recorded: the job is done,
        # on its first attempt, with no worker left on the queue.
        assert (await jobs.status(job.id, client=temporal_client)).state == "completed"
        result = await asyncio.wait_for(job.result(), 15)
        assert result == {"attempt": 1, "slept": 3.0}


async def _is(status: "asyncio.Future[int] | object", expected: int) -> bool:
    return await status == expected  # type: ignore[misc]


async def _exists(path: Path) -> bool:
    return path.exists()


async def test_lanes_worker_serves_several_domains_in_one_process(
    lanes_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = lanes_env | {"LANES_HEALTH_PORT": str(port), "LANES_HEALTH_HOST": "127.0.0.1"}
    log = (tmp_path / "worker.log").open("wb")
    worker = subprocess.Popen(
        [BIN / "lanes", "worker", "--queues", "email,operations"], env=env, stdout=log, stderr=log
    )
    try:
        await wait_until(lambda: _is(readyz(port), 200), 30, "the worker's /readyz")
        ping = subprocess.run(
            [BIN / "lanes", "ping", "email", "operations"],
            env=env,
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert ping.returncode == 0, ping.stdout + ping.stderr
        pids = {line.split()[-1] for line in ping.stdout.splitlines()}
        assert pids == {f"{worker.pid}@{socket.gethostname()}"}
        worker.send_signal(signal.SIGTERM)
        assert await asyncio.to_thread(worker.wait, 30) == 0
    finally:
        if worker.poll() is None:
            os.kill(worker.pid, signal.SIGKILL)
            worker.wait()
        log.close()


def test_an_uninstalled_domain_is_a_clear_startup_error(lanes_env: dict[str, str]) -> None:
    done = subprocess.run(
        [BIN / "lanes", "worker", "--queues", "billing"],
        env=lanes_env,
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert done.returncode == 1
    assert "domain 'billing' is not installed (installed: analysis, email, operations, sync)" in (
        done.stderr
    )


async def test_a_doubled_sigint_drains_once_and_a_later_one_exits_at_once(
    temporal_client: Client, lanes_env: dict[str, str], tmp_path: Path
) -> None:
    log_path = tmp_path / "worker.log"
    with slow_sync_worker(lanes_env, tmp_path) as (worker, port):
        await wait_until(lambda: _is(readyz(port), 200), 30, "the worker's /readyz")
        job = await dispatch(
            "test.slow_step",
            {"seconds": 10, "marker_dir": str(tmp_path)},
            task_queue="sync",
            client=temporal_client,
        )
        await wait_until(lambda: _exists(tmp_path / "started"), 15, "the activity to start")
        # What `uv run` without a terminal does with one Ctrl-C: SIGINT, and again at once.
        worker.send_signal(signal.SIGINT)
        await asyncio.sleep(0.05)
        worker.send_signal(signal.SIGINT)
        await wait_until(lambda: _is(readyz(port), 503), 5, "/readyz to report draining")
        await asyncio.sleep(worker_module.REPEAT_WINDOW + 0.5)
        assert worker.poll() is None, log_path.read_text()  # still draining the 10 s activity
        # A person pressing Ctrl-C again will not wait for the drain.
        worker.send_signal(signal.SIGINT)
        assert await asyncio.to_thread(worker.wait, 15) == 130
        assert not (tmp_path / "finished").exists()
        text = log_path.read_text()
        assert "SIGINT received again: still draining" in text, text
        assert "second SIGINT: exiting without waiting" in text, text
        # The interrupted job would be retried on the next sync worker: end it here.
        await jobs.terminate(job.id, reason="test over", client=temporal_client)
