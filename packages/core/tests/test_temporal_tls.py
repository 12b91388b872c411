"""TLS, mTLS and API keys to Temporal through the SDK's env config, against a real TLS endpoint:
a loopback TLS-terminating proxy in front of the dev server, certificates made in the test."""

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from tls_support import Authority, TlsProxy

from core.client import TemporalUnavailable, connect
from core.dev.server import DevServer
from core.dev.testing import running_worker
from core.dispatch import dispatch_and_wait
from core.ping import PingResult

API_KEY = "lanes-test-api-key-0001"


@pytest.fixture
def authorities(tmp_path: Path) -> dict[str, Authority]:
    return {name: Authority(tmp_path, name) for name in ("server-ca", "client-ca", "other-ca")}


@pytest.fixture
async def proxy(
    temporal_server: DevServer, authorities: dict[str, Authority], request: pytest.FixtureRequest
) -> AsyncIterator[TlsProxy]:
    mutual = getattr(request, "param", False)
    proxy = TlsProxy(
        target=(temporal_server.ip, temporal_server.port),
        server=authorities["server-ca"].issue("server", server=True),
        client_ca=authorities["client-ca"].issued.cert if mutual else None,
    )
    await proxy.start()
    try:
        yield proxy
    finally:
        await proxy.stop()


def tls_env(monkeypatch: pytest.MonkeyPatch, proxy: TlsProxy, ca: Authority) -> None:
    monkeypatch.setenv("TEMPORAL_ADDRESS", proxy.address)
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(ca.issued.cert))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "localhost")


async def test_server_tls_with_an_api_key_runs_a_job(
    proxy: TlsProxy,
    authorities: dict[str, Authority],
    monkeypatch: pytest.MonkeyPatch,
    task_queue: str,
) -> None:
    tls_env(monkeypatch, proxy, authorities["server-ca"])
    monkeypatch.setenv("TEMPORAL_API_KEY", API_KEY)
    client = await connect()
    async with running_worker(client, task_queue=task_queue):
        result = await dispatch_and_wait("lanes.ping", {}, task_queue=task_queue, client=client)
    assert isinstance(result, PingResult) and result.task_queue == task_queue
    # Every call carried the key, as gRPC metadata inside the encrypted stream.
    assert proxy.authorization and set(proxy.authorization) == {f"Bearer {API_KEY}"}


@pytest.mark.parametrize("proxy", [True], indirect=True)
async def test_mutual_tls_requires_the_client_certificate(
    proxy: TlsProxy,
    authorities: dict[str, Authority],
    monkeypatch: pytest.MonkeyPatch,
    task_queue: str,
) -> None:
    tls_env(monkeypatch, proxy, authorities["server-ca"])
    with pytest.raises(
        TemporalUnavailable, match=r"TLS connection failed.*TEMPORAL_TLS_CLIENT_CERT"
    ):
        await connect()
    issued = authorities["client-ca"].issue("client", server=False)
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(issued.cert))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(issued.key))
    client = await connect()
    async with running_worker(client, task_queue=task_queue):
        result = await dispatch_and_wait("lanes.ping", {}, task_queue=task_queue, client=client)
    assert result.task_queue == task_queue


async def test_a_server_certificate_from_another_ca_is_refused_clearly(
    proxy: TlsProxy, authorities: dict[str, Authority], monkeypatch: pytest.MonkeyPatch
) -> None:
    tls_env(monkeypatch, proxy, authorities["other-ca"])
    with pytest.raises(TemporalUnavailable) as refused:
        await connect()
    message = str(refused.value)
    assert f"cannot reach Temporal at {proxy.address}" in message
    assert "TLS" in message and "TEMPORAL_TLS_SERVER_CA_CERT_PATH" in message


@pytest.mark.parametrize(
    "error",
    [
        # The two shapes handled before (abridged: their key words, not whole messages).
        "Failed client connect: Connection error: unexpected EOF",
        "Failed client connect: transport error: Broken pipe (os error 32)",
        # Seen on CI: the proxy's alert and close overtook the client's first request.
        "Failed client connect: `get_system_info` call error after connection: Status { code: "
        'Unknown, message: "transport error", source: Some(tonic::transport::Error(Transport, '
        "hyper::Error(Io, Kind(ConnectionReset)))) }",
        # Seen on CI too: the call cancelled before the refused connection was ready.
        "Failed client connect: `get_system_info` call error after connection: Status { code: "
        'Cancelled, message: "operation was canceled", source: Some(tonic::transport::Error('
        'Transport, hyper::Error(Canceled, "connection was not ready"))) }',
    ],
)
def test_every_way_a_refused_client_certificate_shows_names_the_client_cert(error: str) -> None:
    from core.client import _hint

    assert "TEMPORAL_TLS_CLIENT_CERT_PATH" in _hint(error, {"tls": True})
    # Without TLS the same words mean an unreachable server, and the hint says so.
    assert "uv run lanes dev" in _hint(error, {})


def test_a_tls_server_that_is_down_is_not_blamed_on_the_client_certificate() -> None:
    from core.client import _hint

    error = (  # as the SDK said it for TEMPORAL_TLS=true and a closed port
        "Failed client connect: Server connection error: tonic::transport::Error(Transport, "
        'ConnectError(ConnectError("tcp connect error", 127.0.0.1:1, Os { code: 111, kind: '
        'ConnectionRefused, message: "Connection refused" })))'
    )
    assert "uv run lanes dev" in _hint(error, {"tls": True})
