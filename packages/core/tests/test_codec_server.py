"""The codec server on loopback: token required (403 without), round trip, CORS for the UI."""

import base64
import json
import os
from collections.abc import AsyncIterator

import aiohttp
import pytest
from temporalio.api.common.v1 import Payload

from core.codec import EncryptionCodec, parse_keys
from core.codec_server import start_codec_server
from core.dev.server import free_port

TOKEN = "codec-test-token-7f3a"
UI = "http://127.0.0.1:8233"


@pytest.fixture
async def codec() -> EncryptionCodec:
    return EncryptionCodec(parse_keys(f"k1:{base64.b64encode(os.urandom(32)).decode()}"))


@pytest.fixture
async def server(codec: EncryptionCodec) -> AsyncIterator[str]:
    port = free_port()
    runner = await start_codec_server(codec, TOKEN, host="127.0.0.1", port=port, origins=[UI])
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


def as_json(payload: Payload) -> dict[str, object]:
    return {
        "payloads": [
            {
                "metadata": {k: base64.b64encode(v).decode() for k, v in payload.metadata.items()},
                "data": base64.b64encode(payload.data).decode(),
            }
        ]
    }


async def test_decode_with_the_token(server: str, codec: EncryptionCodec) -> None:
    plain = Payload(metadata={"encoding": b"json/plain"}, data=b'{"card": "marker-42"}')
    [sealed] = await codec.encode([plain])
    async with aiohttp.ClientSession() as http:
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Namespace": "default"}
        async with http.post(f"{server}/decode", json=as_json(sealed), headers=headers) as resp:
            assert resp.status == 200
            body = await resp.json()
        [decoded] = body["payloads"]
        assert base64.b64decode(decoded["data"]) == b'{"card": "marker-42"}'
        assert base64.b64decode(decoded["metadata"]["encoding"]) == b"json/plain"
        # /encode is the inverse (the UI uses it for signal and start inputs).
        async with http.post(f"{server}/encode", json=as_json(plain), headers=headers) as resp:
            [encoded] = (await resp.json())["payloads"]
        assert base64.b64decode(encoded["metadata"]["encoding"]) == b"binary/encrypted"
        # The path form, for a UI that cannot send a header.
        async with http.post(f"{server}/t/{TOKEN}/decode", json=as_json(sealed)) as resp:
            assert resp.status == 200
            assert json.loads(await resp.text())["payloads"][0]["data"] == decoded["data"]


async def test_no_token_or_a_wrong_token_is_403(server: str, codec: EncryptionCodec) -> None:
    [sealed] = await codec.encode([Payload(data=b"secret")])
    async with aiohttp.ClientSession() as http:
        for headers in ({}, {"Authorization": "Bearer nope"}, {"Authorization": TOKEN}):
            async with http.post(f"{server}/decode", json=as_json(sealed), headers=headers) as r:
                assert r.status == 403, headers
                assert b"secret" not in await r.read()
        async with http.post(f"{server}/t/nope/decode", json=as_json(sealed)) as resp:
            assert resp.status == 403


async def test_cors_preflight_only_for_the_ui_origin(server: str) -> None:
    preflight = {
        "Origin": UI,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type,x-namespace",
    }
    async with aiohttp.ClientSession() as http:
        async with http.options(f"{server}/decode", headers=preflight) as resp:
            assert resp.status == 204
            assert resp.headers["Access-Control-Allow-Origin"] == UI
            assert "POST" in resp.headers["Access-Control-Allow-Methods"]
            assert "X-Namespace" in resp.headers["Access-Control-Allow-Headers"]
        other = preflight | {"Origin": "http://evil.example"}
        async with http.options(f"{server}/decode", headers=other) as resp:
            assert resp.status == 403
            assert "Access-Control-Allow-Origin" not in resp.headers


async def test_lanes_codec_server_command(codec: EncryptionCodec) -> None:
    import asyncio
    import signal
    import subprocess
    import sys
    from pathlib import Path

    lanes = str(Path(sys.executable).with_name("lanes"))
    key = f"k1:{base64.b64encode(os.urandom(32)).decode()}"
    env = dict(os.environ, LANES_ENCRYPTION_KEYS=key)
    env.pop("LANES_CODEC_SERVER_TOKEN", None)
    refused = subprocess.run([lanes, "codec-server"], env=env, capture_output=True, text=True)
    assert refused.returncode == 1
    assert "set LANES_CODEC_SERVER_TOKEN" in refused.stderr
    port = free_port()
    env["LANES_CODEC_SERVER_TOKEN"] = TOKEN
    proc = subprocess.Popen([lanes, "codec-server", "--port", str(port)], env=env)
    try:
        [sealed] = await EncryptionCodec(parse_keys(key)).encode([Payload(data=b"hi")])
        async with aiohttp.ClientSession() as http:
            for _ in range(100):
                try:
                    async with http.post(
                        f"http://127.0.0.1:{port}/decode",
                        json=as_json(sealed),
                        headers={"Authorization": f"Bearer {TOKEN}"},
                    ) as resp:
                        body = await resp.json()
                        break
                except aiohttp.ClientConnectionError:
                    await asyncio.sleep(0.1)
        assert base64.b64decode(body["payloads"][0]["data"]) == b"hi"
    finally:
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0


async def test_lanes_dev_points_the_ui_at_its_codec_server(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from core.cli.dev import _start_codec_server
    from core.dev.server import DevServer
    from core.settings import settings

    key = f"k1:{base64.b64encode(os.urandom(32)).decode()}"
    monkeypatch.setenv("LANES_ENCRYPTION_KEYS", key)
    monkeypatch.delenv("LANES_CODEC_SERVER_TOKEN", raising=False)
    settings.cache_clear()
    server = DevServer(ui_port=0)  # not started: only its command line is read
    try:
        runner = await _start_codec_server(server)
    finally:
        monkeypatch.undo()
        settings.cache_clear()
    try:
        flag = server.command().index("--ui-codec-endpoint")
        endpoint = server.command()[flag + 1]
        assert endpoint.startswith("http://127.0.0.1:") and "/t/" in endpoint
        [sealed] = await EncryptionCodec(parse_keys(key)).encode([Payload(data=b"dev")])
        async with aiohttp.ClientSession() as http:
            # The UI's origin may call it; the token is in the endpoint's path (a random one).
            origin = {"Origin": str(server.ui_url)}
            async with http.post(f"{endpoint}/decode", json=as_json(sealed), headers=origin) as r:
                assert r.status == 200
                assert r.headers["Access-Control-Allow-Origin"] == server.ui_url
                assert base64.b64decode((await r.json())["payloads"][0]["data"]) == b"dev"
            bare = endpoint.rsplit("/t/", 1)[0]
            async with http.post(f"{bare}/decode", json=as_json(sealed)) as r:
                assert r.status == 403
    finally:
        await runner.cleanup()
