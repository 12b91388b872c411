"""The worker's health endpoint, spoken to as a probe and a scraper would."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request

from core.worker.health import HealthServer, HealthState, Response


def _get(url: str, method: str = "GET") -> tuple[int, str, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, answer.headers["Content-Type"], answer.read()
    except urllib.error.HTTPError as err:
        return err.code, err.headers["Content-Type"], err.read()


async def test_readiness_follows_the_state_and_unknown_requests_are_refused() -> None:
    state = HealthState(queues=["sync"])

    async def metrics() -> Response:
        return Response(200, b"lanes_up 1\n", "text/plain; version=0.0.4")

    server = HealthServer(state, "127.0.0.1", 0, extra_routes=[("/metrics", metrics)])
    port = await server.start()
    base = f"http://127.0.0.1:{port}"
    try:
        status, _, body = await asyncio.to_thread(_get, f"{base}/readyz")
        assert (status, json.loads(body)) == (503, {"status": "starting", "queues": ["sync"]})
        state.ready = True
        status, kind, body = await asyncio.to_thread(_get, f"{base}/readyz")
        assert (status, kind, json.loads(body)["status"]) == (200, "application/json", "ready")
        state.draining = True
        assert (await asyncio.to_thread(_get, f"{base}/readyz"))[0] == 503
        assert (await asyncio.to_thread(_get, f"{base}/healthz"))[0] == 200

        assert await asyncio.to_thread(_get, f"{base}/metrics?x=1") == (
            200,
            "text/plain; version=0.0.4",
            b"lanes_up 1\n",
        )
        assert (await asyncio.to_thread(_get, f"{base}/nope"))[0] == 404
        assert (await asyncio.to_thread(_get, f"{base}/readyz", "POST"))[0] == 405

        # Garbage instead of HTTP: an error answer, and the server keeps serving.
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"hello\r\n\r\n")
        assert (await reader.read()).startswith(b"HTTP/1.1 400 Bad Request\r\n")
        writer.close()
        assert (await asyncio.to_thread(_get, f"{base}/healthz"))[0] == 200
    finally:
        await server.stop()
