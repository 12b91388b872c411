"""Processes the benchmarks start: the dev server, worker subprocesses, a Celery worker.

Every process is started here and stopped here, by PID. Three layers make sure none outlives the
run: ``try/finally`` in every figure, an ``atexit`` sweep of whatever is still registered, and the
Linux parent-death signal (a ``kill -9`` of the benchmark still takes its children down). Children
run in their own session so a terminal Ctrl-C reaches only the benchmark, which then stops them in
order (workers before the server they talk to).

CPU and memory are read per process tree with psutil: a worker's CPU per job is the growth of
``user + system`` time of the worker (and its pool children) over a round, divided by the jobs.
"""

from __future__ import annotations

import atexit
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import psutil

from core.dev.server import DevServer

__all__ = [
    "REPO_ROOT",
    "Child",
    "cpu_seconds",
    "dev_server",
    "log_dir",
    "python_script",
    "rss_bytes",
    "stop_all",
    "subprocess_env",
]

REPO_ROOT = Path(__file__).resolve().parent.parent

_LOG_DIR: Path | None = None
_LIVE: dict[int, Child] = {}


def log_dir() -> Path:
    """One temporary folder per run for the children's output (kept for a post-mortem)."""
    global _LOG_DIR
    if _LOG_DIR is None:
        _LOG_DIR = Path(tempfile.mkdtemp(prefix="lanes-bench-"))
    return _LOG_DIR


def python_script(name: str) -> str:
    """Path of a console script installed in this environment (``sync-worker``, ``celery``)."""
    path = Path(sys.executable).with_name(name)
    if not path.exists():
        raise FileNotFoundError(f"{name} is not installed in {path.parent}; run `uv sync`")
    return str(path)


def subprocess_env(temporal_address: str | None = None, **extra: str) -> dict[str, str]:
    """Environment for a child: this one, the repository on the path, the bench's server."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    env["PYTHONUNBUFFERED"] = "1"
    env.setdefault("LANES_LOG_LEVEL", "WARNING")
    if temporal_address:
        env["TEMPORAL_ADDRESS"] = temporal_address
    env.update(extra)
    return env


class Child:
    """One subprocess, stopped by PID: SIGTERM, then SIGKILL after a grace period."""

    def __init__(self, name: str, argv: Sequence[str], env: dict[str, str]) -> None:
        self.name = name
        self.log_path = log_dir() / f"{name}.log"
        self._log = self.log_path.open("ab")
        self.started_at = time.monotonic()
        self.process = subprocess.Popen(
            list(argv),
            env=env,
            cwd=REPO_ROOT,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            preexec_fn=_die_with_parent,
        )
        _LIVE[self.process.pid] = self

    @property
    def pid(self) -> int:
        return self.process.pid

    def check_alive(self) -> None:
        """Raise, pointing at the child's log, when it has exited."""
        code = self.process.poll()
        if code is not None:
            tail = self.log_path.read_text(errors="replace")[-2000:]
            raise RuntimeError(f"{self.name} exited with code {code}; log {self.log_path}:\n{tail}")

    def stop(self, grace: float = 15.0) -> float:
        """Stop it (SIGTERM, then SIGKILL) and return how long it took to exit."""
        _LIVE.pop(self.process.pid, None)
        started = time.monotonic()
        if self.process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(grace)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self._log.close()
        return time.monotonic() - started


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its live children, in seconds."""
    try:
        root = psutil.Process(pid)
        total = 0.0
        for proc in [root, *root.children(recursive=True)]:
            with contextlib.suppress(psutil.NoSuchProcess):
                times = proc.cpu_times()
                total += times.user + times.system
        return total
    except psutil.NoSuchProcess:
        return 0.0


def rss_bytes(pid: int) -> int:
    """Resident memory of a process and its children."""
    root = psutil.Process(pid)
    total = 0
    for proc in [root, *root.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            total += proc.memory_info().rss
    return total


@asynccontextmanager
async def dev_server() -> AsyncIterator[DevServer]:
    """A headless in-memory dev server (Lanes' DYNAMIC_CONFIG applied), stopped by PID."""
    server = DevServer(ui_port=None, log_file=log_dir() / "temporal.log")
    try:
        await server.start()
        yield server
    finally:
        await server.stop()


def stop_all() -> None:
    """Stop every child still running (the ``atexit`` and signal path)."""
    for child in list(_LIVE.values()):
        child.stop(grace=5.0)


def _die_with_parent() -> None:
    # In the forked child: SIGTERM it when the benchmark dies, even by SIGKILL.
    if sys.platform == "linux":
        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)


atexit.register(stop_all)
