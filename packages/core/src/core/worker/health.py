"""The worker's HTTP endpoint: ``/healthz`` (alive), ``/readyz`` (polling, not draining).

Kubernetes probes and the compose health check read these; ``/metrics`` is mounted here too when
metrics are enabled, so one port serves everything an operator scrapes.

Why not a web framework: the endpoint answers three fixed ``GET`` paths, one request per
connection, to probes and a scraper. ``asyncio.start_server`` does that in a page of code, and a
worker then starts without loading an HTTP server stack (aiohttp's server alone was about a sixth
of a worker's start-up time and memory, see ``bench/startup.py``).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from http import HTTPStatus

__all__ = ["HealthServer", "HealthState", "Response"]

_REQUEST_TIMEOUT = 5.0
"""Seconds a client has to send its request line and headers before it is disconnected."""
_MAX_HEADER_BYTES = 16 * 1024


@dataclass
class HealthState:
    """What the endpoint reports; the worker bootstrap updates it."""

    queues: list[str] = field(default_factory=list)
    ready: bool = False
    draining: bool = False


@dataclass(frozen=True)
class Response:
    """What a route returns: status, body and its content type."""

    status: int
    body: bytes
    content_type: str = "application/json"

    @classmethod
    def json(cls, data: object, status: int = 200) -> Response:
        return cls(status, json.dumps(data).encode())


Route = Callable[[], Awaitable[Response]]
"""A handler: no arguments (the paths take no parameters), returns a :class:`Response`."""


class HealthServer:
    """A small HTTP/1.1 server bound to ``host:port`` (port 0 picks a free one)."""

    def __init__(
        self,
        state: HealthState,
        host: str,
        port: int,
        extra_routes: list[tuple[str, Route]] | None = None,
    ) -> None:
        self.state = state
        self.host = host
        self.port = port
        self._routes: dict[str, Route] = {"/healthz": self._healthz, "/readyz": self._readyz}
        self._routes.update(extra_routes or [])
        self._server: asyncio.Server | None = None

    async def start(self) -> int:
        """Start serving; returns the bound port."""
        try:
            self._server = await asyncio.start_server(self._handle, self.host, self.port)
        except OSError as err:
            raise OSError(
                f"cannot serve health checks on {self.host}:{self.port}: {err.strerror}; "
                "set LANES_HEALTH_PORT to a free port (0 picks one)"
            ) from err
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self.port

    async def stop(self) -> None:
        """Stop serving."""
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            try:
                head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), _REQUEST_TIMEOUT)
            except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, TimeoutError):
                return
            if len(head) > _MAX_HEADER_BYTES:
                return
            response = await self._respond(head.split(b"\r\n", 1)[0].decode("latin-1"))
            reason = HTTPStatus(response.status).phrase
            writer.write(
                f"HTTP/1.1 {response.status} {reason}\r\n"
                f"Content-Type: {response.content_type}\r\n"
                f"Content-Length: {len(response.body)}\r\n"
                "Connection: close\r\n\r\n".encode("latin-1")
                + response.body
            )
            with contextlib.suppress(ConnectionError):
                await writer.drain()
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _respond(self, request_line: str) -> Response:
        parts = request_line.split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            return Response.json({"error": "bad request"}, 400)
        method, target = parts[0], parts[1].split("?", 1)[0]
        route = self._routes.get(target)
        if route is None:
            return Response.json({"error": f"no such path {target}"}, 404)
        if method != "GET":
            return Response.json({"error": "only GET is served"}, 405)
        return await route()

    async def _healthz(self) -> Response:
        return Response.json({"status": "ok", "queues": self.state.queues})

    async def _readyz(self) -> Response:
        ok = self.state.ready and not self.state.draining
        body = {
            "status": "ready" if ok else ("draining" if self.state.draining else "starting"),
            "queues": self.state.queues,
        }
        return Response.json(body, 200 if ok else 503)
