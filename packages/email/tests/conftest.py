"""Make this folder's support modules importable by name, here and in worker subprocesses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from mail_test_smtp import RecordingHandler

from mail.settings import mail_settings
from mail.sink import SmtpSink


@pytest_asyncio.fixture(loop_scope="session")
async def smtp_sink(tmp_path: Path) -> AsyncIterator[tuple[SmtpSink, RecordingHandler]]:
    """A real aiosmtpd server on loopback that records what it receives."""
    handler = RecordingHandler(tmp_path / "outbox")
    async with SmtpSink(handler) as sink:
        yield sink, handler


@pytest.fixture
def mail_env(
    smtp_sink: tuple[SmtpSink, RecordingHandler], monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """This process's email settings point at the recording sink."""
    sink, handler = smtp_sink
    env = {
        "LANES_SMTP_URL": sink.url,
        "LANES_MAIL_DIR": str(handler.directory),
        "LANES_MAIL_FROM": "Lanes <news@lanes.example>",
        "LANES_MAIL_SEND_LEASE": "3",
        "LANES_SMTP_TIMEOUT": "5",
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    mail_settings.cache_clear()
    yield env
    monkeypatch.undo()
    mail_settings.cache_clear()
