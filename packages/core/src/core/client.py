"""One cached Temporal client per process, configured from the environment.

The connection comes from the SDK's environment config (``TEMPORAL_ADDRESS`` and friends, see
:mod:`core.settings`); payloads go through the pydantic data converter so activity and workflow
inputs can be pydantic models, encrypted by :mod:`core.codec` when ``LANES_ENCRYPTION_KEYS`` is
set (workers built from the client inherit its converter). A connection failure is reported as
:class:`TemporalUnavailable`, one line that says where Lanes tried to connect and what to do.
"""

from __future__ import annotations

import asyncio
from typing import Any

from temporalio.client import Client
from temporalio.envconfig import ClientConfig

from core import codec, telemetry
from core.settings import DEFAULT_TEMPORAL_ADDRESS

__all__ = ["TemporalUnavailable", "connect", "get_client", "reset_client"]


class TemporalUnavailable(RuntimeError):
    """The Temporal server could not be reached."""


_client: Client | None = None
_lock: asyncio.Lock | None = None


def connect_config() -> dict[str, Any]:
    """Connection arguments from the environment, with Lanes' local default address."""
    config: dict[str, Any] = dict(ClientConfig.load_client_connect_config())
    config.setdefault("target_host", DEFAULT_TEMPORAL_ADDRESS)
    return config


async def connect(**overrides: Any) -> Client:
    """Open a new client (not cached). ``overrides`` replace environment values."""
    # Tracing interceptor (inherited by workers) and the metrics runtime: see core.telemetry.
    config = (
        connect_config()
        | {"data_converter": codec.data_converter()}
        | telemetry.client_options()
        | overrides
    )
    target = config["target_host"]
    try:
        return await Client.connect(**config)
    except RuntimeError as err:
        where = (
            f"cannot reach Temporal at {target} (namespace {config.get('namespace', 'default')!r})"
        )
        raise TemporalUnavailable(f"{where}: {_hint(str(err), config)}") from err


def _hint(error: str, config: dict[str, Any]) -> str:
    """The SDK's connection error, with what to check for the usual causes."""
    lowered = error.lower()
    if "unknownissuer" in lowered or "invalidcertificate" in lowered:
        return (
            f"the server's TLS certificate is not trusted ({error}); set "
            "TEMPORAL_TLS_SERVER_CA_CERT_PATH to the CA that signed it (and "
            "TEMPORAL_TLS_SERVER_NAME to the name in it)"
        )
    refused = "refused" in lowered or "tcp connect" in lowered  # nothing listens there
    tls_words = (
        "certificate",
        "handshake",
        "tls",
        "eof",
        "connection closed",
        "broken pipe",
        "connectionreset",
        "connection reset",
        # The TLS session was set up, then the first call died in the transport.
        "after connection",
    )
    if config.get("tls") and not refused and any(w in lowered for w in tls_words):
        # With TLS 1.3 a refused client certificate shows on the client only after its
        # handshake, as whatever the transport saw first: EOF, a broken pipe when the client was
        # still writing, a reset, or a cancelled call ("connection was not ready").
        return (
            f"the TLS connection failed ({error}); if the server requires a client certificate "
            "(mTLS), set TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH"
        )
    return f"{error}. Start it with `uv run lanes dev` or set TEMPORAL_ADDRESS to a running server."


async def get_client() -> Client:
    """The process's client, connected on first use."""
    global _client, _lock
    if _client is not None:
        return _client
    if _lock is None:
        _lock = asyncio.Lock()
    async with _lock:
        if _client is None:
            _client = await connect()
    return _client


def reset_client() -> None:
    """Forget the cached client (tests, or after the environment changed)."""
    global _client, _lock
    _client = None
    _lock = None
