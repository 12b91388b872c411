"""The codec server: lets the Temporal UI and CLI show encrypted payloads to people with a token.

It speaks Temporal's remote codec protocol: ``POST /decode`` and ``POST /encode`` take and return
``{"payloads": [{"metadata": {...}, "data": "..."}]}`` (protobuf JSON, bytes as base64), with
the keys of :mod:`core.codec`. Point the UI at it (``temporal server start-dev
--ui-codec-endpoint``, the UI's ``TEMPORAL_CODEC_ENDPOINT`` or its Data Encoder setting) or the
CLI (``temporal workflow show --codec-endpoint ... --codec-auth "Bearer TOKEN"``).

Access:

- Every ``/decode`` and ``/encode`` needs ``Authorization: Bearer <LANES_CODEC_SERVER_TOKEN>``;
  a missing or wrong token gets **403** (compared in constant time). A UI that cannot send a
  header (the dev server's) uses the token as a path prefix instead: ``/t/<token>/decode``;
  the access log is off, so the token is never written anywhere by this server.
- CORS: browsers may call it only from ``LANES_CODEC_SERVER_ORIGINS`` (the UI's origin);
  preflight ``OPTIONS`` needs no token (browsers send none) and is refused for other origins.
"""

from __future__ import annotations

import hmac
import json
from collections.abc import Awaitable, Callable, Iterable

from aiohttp import web
from google.protobuf import json_format
from temporalio.api.common.v1 import Payloads

from core.codec import CodecKeyError, EncryptionCodec

__all__ = ["codec_app", "start_codec_server"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
_ALLOW_HEADERS = "Authorization, Content-Type, X-Namespace"


def codec_app(codec: EncryptionCodec, token: str, origins: Iterable[str] = ()) -> web.Application:
    """The aiohttp application; ``token`` is required on every codec request."""
    if not token:
        raise ValueError("the codec server needs a token (LANES_CODEC_SERVER_TOKEN)")
    allowed = frozenset(o.rstrip("/") for o in origins if o)
    expected = token.encode()

    def authorised(request: web.Request) -> bool:
        given = request.match_info.get("token")
        if given is None:
            scheme, _, value = request.headers.get("Authorization", "").partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else ""
        return hmac.compare_digest(given.encode(), expected)

    def cors(request: web.Request, response: web.StreamResponse) -> web.StreamResponse:
        origin = request.headers.get("Origin", "").rstrip("/")
        if origin in allowed:
            response.headers["Access-Control-Allow-Origin"] = origin
            response.headers["Access-Control-Allow-Credentials"] = "true"
            response.headers["Vary"] = "Origin"
        return response

    def endpoint(transform: Callable[[Payloads], Awaitable[None]]) -> Handler:
        async def handle(request: web.Request) -> web.StreamResponse:
            if not authorised(request):
                return cors(request, web.json_response({"error": "forbidden"}, status=403))
            try:
                payloads = json_format.Parse(await request.text(), Payloads())
            except (json_format.ParseError, json.JSONDecodeError) as err:
                return cors(request, web.json_response({"error": str(err)}, status=400))
            try:
                await transform(payloads)
            except CodecKeyError as err:
                return cors(request, web.json_response({"error": str(err)}, status=422))
            body = json_format.MessageToJson(payloads, indent=None)
            return cors(request, web.Response(text=body, content_type="application/json"))

        return handle

    async def preflight(request: web.Request) -> web.StreamResponse:
        if request.headers.get("Origin", "").rstrip("/") not in allowed:
            return web.Response(status=403)
        response = web.Response(status=204)
        response.headers["Access-Control-Allow-Methods"] = "POST, OPTIONS"
        response.headers["Access-Control-Allow-Headers"] = _ALLOW_HEADERS
        response.headers["Access-Control-Max-Age"] = "600"
        return cors(request, response)

    decode, encode = endpoint(codec.decode_wrapper), endpoint(codec.encode_wrapper)
    app = web.Application()
    for prefix in ("", "/t/{token}"):
        app.router.add_post(f"{prefix}/decode", decode)
        app.router.add_post(f"{prefix}/encode", encode)
        app.router.add_route("OPTIONS", f"{prefix}/decode", preflight)
        app.router.add_route("OPTIONS", f"{prefix}/encode", preflight)
    return app


async def start_codec_server(
    codec: EncryptionCodec, token: str, *, host: str, port: int, origins: Iterable[str] = ()
) -> web.AppRunner:
    """Serve :func:`codec_app` on ``host:port`` until the returned runner is cleaned up."""
    runner = web.AppRunner(codec_app(codec, token, origins), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def start_for_dev(ui_url: str | None) -> tuple[web.AppRunner, str] | None:
    """``lanes dev``'s codec server: on loopback, for the UI at ``ui_url``, when keys are set.

    Returns the runner and the endpoint to give ``--ui-codec-endpoint`` (its path carries the
    token: the dev server's UI cannot send a header), or ``None`` when there are no keys.
    """
    import secrets

    from core.codec import codec_from_settings
    from core.dev.server import free_port
    from core.settings import settings

    config = settings()
    codec = codec_from_settings(config)
    if not codec.key_ids:
        return None
    secret = config.codec_server_token
    token = secret.get_secret_value() if secret else secrets.token_urlsafe(24)
    port = free_port()
    origins = [ui_url] if ui_url else []
    runner = await start_codec_server(codec, token, host="127.0.0.1", port=port, origins=origins)
    return runner, f"http://127.0.0.1:{port}/t/{token}"
