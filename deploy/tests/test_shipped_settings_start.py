"""Every shipped worker environment starts a real worker that serves its queue.

Each compose service and each rendered ConfigMap is run as it ships, with only what cannot be
real here replaced: the Temporal address (a dev server of this module's own, so schedule sync
touches nothing shared), the database (a migrated SQLite file instead of the Secret's URL), the
health port (a free one) and the OTLP endpoint (a loopback HTTP sink on the same path a collector
serves), and the dev server holds the namespaces the settings name. Temporal Cloud's TLS
settings are dropped: the TLS paths are tested against a real TLS
endpoint in ``packages/core/tests/test_temporal_tls.py``. The worker must report ready, answer
``lanes.ping`` on its domain's queue and export its spans over the shipped OTLP protocol.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from core.client import connect
from core.dev.server import DevServer, free_port
from core.dispatch import dispatch_and_wait
from core.ping import PingResult

BIN = Path(sys.executable).parent
DROPPED = ("TEMPORAL_TLS", "TEMPORAL_API_KEY")


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def own_server(worker_settings: dict[str, dict[str, str]]) -> AsyncIterator[DevServer]:
    # Every namespace the shipped settings name (Temporal Cloud's included) exists on it.
    namespaces = {env.get("TEMPORAL_NAMESPACE", "default") for env in worker_settings.values()}
    extra = [arg for ns in sorted(namespaces - {"default"}) for arg in ("--namespace", ns)]
    server = DevServer(ui_port=None, extra_args=tuple(extra))
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


class OtlpSink:
    """Accepts OTLP/HTTP posts like a collector on 4318 and keeps their bodies."""

    def __init__(self) -> None:
        self.traces: list[bytes] = []
        self.url = ""
        self._runner: web.AppRunner | None = None

    async def start(self) -> None:
        async def traces(request: web.Request) -> web.Response:
            self.traces.append(await request.read())
            return web.Response(body=b"", content_type="application/x-protobuf")

        async def metrics(request: web.Request) -> web.Response:
            await request.read()
            return web.Response(body=b"", content_type="application/x-protobuf")

        app = web.Application()
        app.router.add_post("/v1/traces", traces)
        app.router.add_post("/v1/metrics", metrics)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        port = free_port()
        await web.TCPSite(self._runner, "127.0.0.1", port).start()
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()


def domain_of(where: str, env: dict[str, str]) -> str:
    service = env.get("OTEL_SERVICE_NAME", "")
    assert service.startswith("lanes-"), f"{where}: no OTEL_SERVICE_NAME=lanes-<domain>"
    return service.removeprefix("lanes-")


def worker_env(
    shipped: dict[str, str], server: DevServer, database: str, otlp: str, health: int
) -> dict[str, str]:
    # The machine's own environment minus anything this test session set for Lanes.
    base = {
        k: v for k, v in os.environ.items() if not k.startswith(("LANES_", "TEMPORAL_", "OTEL_"))
    }
    env = base | {k: v for k, v in shipped.items() if not k.startswith(DROPPED)}
    return env | {
        "TEMPORAL_ADDRESS": server.address,
        "LANES_DATABASE_URL": database,
        "LANES_HEALTH_PORT": str(health),
        "OTEL_EXPORTER_OTLP_ENDPOINT": otlp,
        "PYTHONUNBUFFERED": "1",
    }


async def stop_all(procs: list[tuple[str, asyncio.subprocess.Process, int, Path]]) -> None:
    """SIGTERM every worker, wait for all (killing any that hangs), then say which did not
    drain to exit 0: no worker outlives the test, whatever failed."""
    for _, proc, _, _ in procs:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
    failures = []
    for where, proc, _, log in procs:
        try:
            code = await asyncio.wait_for(proc.wait(), 60)
        except TimeoutError:
            proc.kill()
            code = await proc.wait()
        if code != 0:
            failures.append(f"{where}: exit {code} after SIGTERM\n{log.read_text()}")
    assert not failures, "\n".join(failures)


def distinct(settings: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """One environment per overlay for ConfigMaps that differ only in the service name (an
    overlay such as production patches every domain's alike); every compose service and every
    domain overlay stays. Starting a worker is CPU-heavy: this keeps the test under its timeout."""
    chosen: dict[str, dict[str, str]] = {}
    seen: set[tuple[str, frozenset[tuple[str, str]]]] = set()
    for where, env in settings.items():
        source = where if where.startswith("compose:") else where.rsplit(":", 1)[0]
        shape = (source, frozenset((k, v) for k, v in env.items() if k != "OTEL_SERVICE_NAME"))
        if shape not in seen:
            seen.add(shape)
            chosen[where] = env
    return chosen


async def wait_ready(proc: asyncio.subprocess.Process, port: int, where: str, log: Path) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(600):
            if proc.returncode is not None:
                raise AssertionError(f"{where}: exited {proc.returncode}\n{log.read_text()}")
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(0.1)
    raise AssertionError(f"{where}: not ready after 60 s\n{log.read_text()}")


@pytest.mark.parametrize("shipped_in", ["compose", "kubernetes"])
async def test_every_shipped_worker_environment_starts_and_serves(
    shipped_in: str,
    worker_settings: dict[str, dict[str, str]],
    own_server: DevServer,
    worker_database_url: str,
    tmp_path: Path,
) -> None:
    chosen = distinct(
        {
            where: env
            for where, env in worker_settings.items()
            if where.startswith("compose:") == (shipped_in == "compose")
        }
    )
    sink = OtlpSink()
    await sink.start()
    clients = {
        ns: await connect(target_host=own_server.address, namespace=ns)
        for ns in {env.get("TEMPORAL_NAMESPACE", "default") for env in worker_settings.values()}
    }
    # Rounds with one worker per queue and namespace, so the worker under test answers its ping.
    Lane = tuple[str, str]  # (namespace, domain)
    rounds: list[dict[Lane, tuple[str, dict[str, str]]]] = []
    for where, shipped in chosen.items():
        lane = (shipped.get("TEMPORAL_NAMESPACE", "default"), domain_of(where, shipped))
        free = next((r for r in rounds if lane not in r), None)
        if free is None:
            free = {}
            rounds.append(free)
        free[lane] = (where, shipped)
    assert sum(len(r) for r in rounds) >= 4
    served: list[str] = []
    try:
        for group in rounds:
            procs: dict[Lane, tuple[str, asyncio.subprocess.Process, int, Path]] = {}
            try:
                for (namespace, domain), (where, shipped) in group.items():
                    health = free_port()
                    log = tmp_path / f"{where.replace('/', '_').replace(':', '_')}.log"
                    env = worker_env(shipped, own_server, worker_database_url, sink.url, health)
                    with log.open("wb") as out:
                        proc = await asyncio.create_subprocess_exec(
                            str(BIN / f"{domain}-worker"), env=env, stdout=out, stderr=out
                        )
                    procs[(namespace, domain)] = (where, proc, health, log)
                for (namespace, domain), (where, proc, health, log) in procs.items():
                    await wait_ready(proc, health, where, log)
                    answer = await dispatch_and_wait(
                        "lanes.ping", {}, task_queue=domain, client=clients[namespace]
                    )
                    assert isinstance(answer, PingResult)
                    assert answer.pid == proc.pid, f"{where}: answered by another worker"
                    served.append(where)
            finally:
                await stop_all(list(procs.values()))
    finally:
        await sink.stop()
    assert sorted(served) == sorted(chosen)
    # The shipped protocol (http/protobuf) delivered spans from the workers.
    for domain in ("sync", "analysis", "email", "operations"):
        assert any(f"lanes-{domain}".encode() in body for body in sink.traces), domain
