"""Make this folder's support modules importable by name, here and in worker subprocesses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from operations_test_support import Receiver

from operations.settings import operations_settings


@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    """A loopback HTTP server answering from a script and recording what it was sent."""
    server = Receiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def ops_env(task_queue: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """Email notifications go to ``task_queue`` (where a test serves a stand-in ``send_email``),
    and monitors without recipients alert ``oncall@example.com``."""
    monkeypatch.setenv("LANES_OPERATIONS_EMAIL_QUEUE", task_queue)
    monkeypatch.setenv("LANES_OPERATIONS_ALERT_EMAILS", "oncall@example.com")
    operations_settings.cache_clear()
    yield task_queue
    monkeypatch.undo()
    operations_settings.cache_clear()


@pytest_asyncio.fixture(loop_scope="session")
async def sqlite_database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[str]:
    """A migrated SQLite file as ``LANES_DATABASE_URL``: for shell tests, where running on both
    databases would only double the process start-ups (the database tests cover PostgreSQL)."""
    from core.db import dispose_engines, migrations
    from core.settings import settings

    url = f"sqlite+aiosqlite:///{tmp_path / 'lanes.db'}"
    await migrations.upgrade(url=url)
    monkeypatch.setenv("LANES_DATABASE_URL", url)
    settings.cache_clear()
    yield url
    await dispose_engines()
    monkeypatch.undo()
    settings.cache_clear()
