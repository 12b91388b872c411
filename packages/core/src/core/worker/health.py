"""The worker's HTTP endpoint: ``/healthz`` (alive), ``/readyz`` (polling, not draining).

Kubernetes probes and the compose health check read these; ``/metrics`` is mounted here too when
metrics are enabled, so one port serves everything an operator scrapes.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from aiohttp import web

__all__ = ["HealthServer", "HealthState"]


@dataclass
class HealthState:
    """What the endpoint reports; the worker bootstrap updates it."""

    queues: list[str] = field(default_factory=list)
    ready: bool = False
    draining: bool = False


class HealthServer:
    """A small aiohttp server bound to ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        state: HealthState,
        host: str,
        port: int,
        extra_routes: list[tuple[str, Callable[[web.Request], object]]] | None = None,
    ) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._app = web.Application()
        self._app.router.add_get("/healthz", self._healthz)
        self._app.router.add_get("/readyz", self._readyz)
        for path, handler in extra_routes or []:
            self._app.router.add_get(path, handler)  # type: ignore[arg-type]
        self._runner: web.AppRunner | None = None

    async def start(self) -> int:
        """Start serving; returns the bound port."""
        self._runner = web.AppRunner(self._app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        try:
            await site.start()
        except OSError as err:
            await self._runner.cleanup()
            raise OSError(
                f"cannot serve health checks on {self.host}:{self.port}: {err.strerror}; "
                "set LANES_HEALTH_PORT to a free port (0 picks one)"
            ) from err
        addresses = self._runner.addresses  # the bound (host, port, ...) tuples
        if addresses:
            self.port = int(addresses[0][1])
        return self.port

    async def stop(self) -> None:
        """Stop serving."""
        if self._runner is not None:
            await self._runner.cleanup()

    async def _healthz(self, _: web.Request) -> web.Response:
        return web.json_response({"status": "ok", "queues": self.state.queues})

    async def _readyz(self, _: web.Request) -> web.Response:
        ok = self.state.ready and not self.state.draining
        body = {
            "status": "ready" if ok else ("draining" if self.state.draining else "starting"),
            "queues": self.state.queues,
        }
        return web.json_response(body, status=200 if ok else 503)
