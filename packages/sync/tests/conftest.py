"""Make this folder's support modules importable by name, here and in worker subprocesses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from sync_test_github import FakeGitHub

from sync.settings import sync_settings

TOKEN = "ghp_test-token-that-must-never-be-logged"


@pytest_asyncio.fixture(loop_scope="session")
async def fake_github() -> AsyncIterator[FakeGitHub]:
    """A GitHub-compatible API on loopback that wants :data:`TOKEN`."""
    server = FakeGitHub()
    server.token = TOKEN
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def github_env(
    fake_github: FakeGitHub, monkeypatch: pytest.MonkeyPatch
) -> Iterator[dict[str, str]]:
    """This process's sync settings point at the fake API, with its token."""
    env = {"LANES_GITHUB_API_URL": fake_github.url, "LANES_GITHUB_TOKEN": TOKEN}
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    sync_settings.cache_clear()
    yield env
    monkeypatch.undo()
    sync_settings.cache_clear()


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
