"""A real ``sync-worker`` subprocess serving the probe activities, stopped by PID."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.dev.server import free_port

SUPPORT = Path(__file__).parent


@dataclass
class WorkerProcess:
    """The running ``sync-worker`` and what it writes."""

    process: subprocess.Popen[bytes]
    stdout: Path
    stderr: Path
    health_url: str

    def log_lines(self) -> list[dict[str, Any]]:
        return [json.loads(r) for r in self.stderr.read_text().splitlines() if r.startswith("{")]

    def console_spans(self) -> list[dict[str, Any]]:
        return [json.loads(r) for r in self.stdout.read_text().splitlines() if r.strip()]

    def scrape(self) -> str:
        """GET /metrics."""
        with urllib.request.urlopen(self.health_url + "/metrics", timeout=5) as response:
            assert response.headers["Content-Type"].startswith("text/plain")
            return str(response.read().decode())


def wait_for(check: Callable[[], Any], timeout: float, message: Callable[[], str]) -> Any:
    """Poll ``check`` until it returns something truthy; fail with ``message()`` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = check()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(message())


@contextlib.contextmanager
def sync_worker(temporal_address: str, out: Path, **env_vars: str) -> Iterator[WorkerProcess]:
    """Run ``sync-worker`` with the probe activities and ``env_vars`` until the block ends."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(
        TEMPORAL_ADDRESS=temporal_address,
        LANES_HEALTH_PORT=str(port),
        LANES_HEALTH_HOST="127.0.0.1",
        LANES_INCLUDE="lanes_telemetry_probe",
        LANES_LOG_FORMAT="json",
        LANES_SYNC_SCHEDULES="false",
        PYTHONPATH=os.pathsep.join([str(SUPPORT), env.get("PYTHONPATH", "")]),
        PYTHONUNBUFFERED="1",
    )
    env.update(env_vars)
    stdout, stderr = out / "stdout.jsonl", out / "stderr.jsonl"
    with stdout.open("wb") as so, stderr.open("wb") as se:
        process = subprocess.Popen(
            [str(Path(sys.executable).with_name("sync-worker"))], env=env, stdout=so, stderr=se
        )
    worker = WorkerProcess(process, stdout, stderr, f"http://127.0.0.1:{port}")
    try:
        wait_for(lambda: _ready(worker), 30, lambda: f"worker not ready:\n{stderr.read_text()}")
        yield worker
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()


def _ready(worker: WorkerProcess) -> bool:
    if worker.process.poll() is not None:
        raise AssertionError(f"worker exited with {worker.process.returncode}")
    try:
        with urllib.request.urlopen(worker.health_url + "/readyz", timeout=1) as response:
            return bool(response.status == 200)
    except OSError:
        return False
