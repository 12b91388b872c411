"""A real aiosmtpd server for the email tests: records every message and can refuse on cue."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from pathlib import Path
from typing import Any

from aiosmtpd.smtp import SMTP, Envelope, Session

from mail.sink import SinkHandler


@dataclass
class Received:
    to: str
    message_id: str
    subject: str
    raw: bytes


class RecordingHandler(SinkHandler):
    """Writes ``.eml`` files like the dev sink, keeps every accepted message in ``received``
    (duplicates included), and refuses what a test asks it to."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory)
        self.received: list[Received] = []
        self.refuse_rcpt: dict[str, str] = {}
        """address → reply to RCPT TO (``"550 5.1.1 no such user"``), every time."""
        self.refuse_data: dict[str, list[str]] = defaultdict(list)
        """address → replies to DATA, one used up per message."""
        self.attempts: Counter[str] = Counter()
        """RCPT TO commands seen per address (accepted or not)."""

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: Any
    ) -> str:
        self.attempts[address] += 1
        if address in self.refuse_rcpt:
            return self.refuse_rcpt[address]
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        to = envelope.rcpt_tos[0]
        if self.refuse_data[to]:
            return self.refuse_data[to].pop(0)
        raw = envelope.content if isinstance(envelope.content, bytes) else b""
        headers = BytesHeaderParser().parsebytes(raw)
        self.received.append(Received(to, str(headers["Message-ID"]), str(headers["Subject"]), raw))
        self.store(raw)
        return "250 2.0.0 Message accepted"

    def to(self, address: str) -> list[Received]:
        return [r for r in self.received if r.to == address]
