"""The local SMTP sink: an aiosmtpd server on loopback that keeps each message as an ``.eml``.

``lanes dev`` enters :func:`dev_service` (the ``lanes.dev`` entry point of this package), so a
newcomer sees every message the workers send under ``.lanes/mail/`` and with
``lanes mail outbox``, without a provider. A file is named after the message's ``Message-ID``:
the sink, like a relay that deduplicates, keeps one copy of a message sent twice under the same
id (see :mod:`mail.delivery` for when that happens).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import os
from collections.abc import AsyncIterator
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import Envelope, Session

from core.dev.server import free_port
from mail.settings import DEV_SMTP_PORT, mail_settings

__all__ = ["SinkHandler", "SmtpSink", "dev_service"]


class SinkHandler:
    """aiosmtpd handler: write each accepted message to ``directory``."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.content
        raw = content if isinstance(content, bytes) else str(content).encode()
        self.store(raw)
        return "250 2.0.0 Message accepted"

    def store(self, raw: bytes) -> Path:
        """Write ``raw`` as ``<hash of Message-ID>.eml`` (kept when it exists already)."""
        headers = BytesHeaderParser().parsebytes(raw)
        ident = headers.get("Message-ID") or hashlib.sha256(raw).hexdigest()
        path = self.directory / f"{hashlib.sha256(str(ident).encode()).hexdigest()[:32]}.eml"
        if not path.exists():
            self.directory.mkdir(parents=True, exist_ok=True)
            partial = path.with_suffix(".part")
            partial.write_bytes(raw)
            os.replace(partial, path)  # a reader never sees half a message
        return path


class SmtpSink:
    """An SMTP server on the running loop; ``async with SmtpSink(...) as sink: sink.port``."""

    def __init__(self, handler: Any, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self.handler = handler
        self.host = host
        self.port = port
        self._server: asyncio.Server | None = None
        self._sessions: list[SMTPServer] = []

    @property
    def url(self) -> str:
        return f"smtp://{self.host}:{self.port}"

    async def __aenter__(self) -> SmtpSink:
        loop = asyncio.get_running_loop()

        def session() -> SMTPServer:
            protocol = SMTPServer(self.handler, hostname="lanes-sink", loop=loop)
            self._sessions = [p for p in self._sessions if not _closed(p)] + [protocol]
            return protocol

        self._server = await loop.create_server(session, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            # Open sessions must not hold up the exit (Python 3.12+ waits for them).
            for protocol in self._sessions:
                if protocol.transport is not None:
                    protocol.transport.close()
            self._sessions.clear()
            await server.wait_closed()


def _closed(protocol: SMTPServer) -> bool:
    transport = protocol.transport
    return transport is None or transport.is_closing()


@contextlib.asynccontextmanager
async def dev_service() -> AsyncIterator[dict[str, str]]:
    """For ``lanes dev``: run the sink unless ``LANES_SMTP_URL`` names a relay already; yields
    the environment the workers need (``LANES_SMTP_URL``)."""
    if os.environ.get("LANES_SMTP_URL"):
        yield {}
        return
    directory = mail_settings().outbox_dir()
    # Read again once `lanes dev` has set the variables yielded below.
    mail_settings.cache_clear()
    handler = SinkHandler(directory)
    try:
        sink = await SmtpSink(handler, port=DEV_SMTP_PORT).__aenter__()
    except OSError:  # the usual port is taken: any free one will do, the workers are told
        sink = await SmtpSink(handler, port=free_port()).__aenter__()
    try:
        yield {"LANES_SMTP_URL": sink.url, "LANES_MAIL_DIR": str(directory.resolve())}
    finally:
        await sink.__aexit__(None, None, None)
