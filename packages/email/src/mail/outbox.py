"""Reading the local sink's folder: what ``lanes mail outbox`` lists."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from email.header import decode_header, make_header
from email.parser import BytesHeaderParser
from email.utils import parsedate_to_datetime
from pathlib import Path

__all__ = ["OutboxEntry", "read_outbox"]


@dataclass(frozen=True)
class OutboxEntry:
    path: Path
    to: str
    subject: str
    time: datetime


def read_outbox(directory: Path, *, limit: int | None = None) -> list[OutboxEntry]:
    """The sink's messages, newest first (``limit`` of them)."""
    if not directory.is_dir():
        return []
    paths = sorted(directory.glob("*.eml"), key=lambda p: p.stat().st_mtime, reverse=True)
    entries = []
    for path in paths[:limit] if limit is not None else paths:
        with path.open("rb") as f:
            headers = BytesHeaderParser().parse(f)
        entries.append(
            OutboxEntry(
                path=path,
                to=_text(headers.get("To")),
                subject=_text(headers.get("Subject")),
                time=_time(headers.get("Date"), path),
            )
        )
    return entries


def _text(value: object) -> str:
    return str(make_header(decode_header(str(value)))) if value is not None else ""


def _time(value: object, path: Path) -> datetime:
    if value is not None:
        try:
            return parsedate_to_datetime(str(value)).astimezone(UTC)
        except (TypeError, ValueError):
            pass
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)
