"""Make this folder's support modules importable by name; the fake model and its settings."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator, Iterator

import pytest
import pytest_asyncio
from analysis_test_llm import API_KEY, FakeModel

from analysis.settings import analysis_settings


@pytest_asyncio.fixture(loop_scope="session")
async def fake_model() -> AsyncIterator[FakeModel]:
    """An OpenAI-compatible chat-completions API on loopback that wants :data:`API_KEY`."""
    server = FakeModel()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()


@pytest.fixture
def llm_env(fake_model: FakeModel, monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, str]]:
    """This process's analysis settings point at the fake model."""
    env = {
        "LANES_LLM_MODEL": "fake-model",
        "LANES_LLM_BASE_URL": fake_model.url,
        "LANES_LLM_API_KEY": API_KEY,
    }
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    analysis_settings.cache_clear()
    yield env
    monkeypatch.undo()
    analysis_settings.cache_clear()


@pytest.fixture(autouse=True)
def _no_model_configured(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Tests start from the embedded default: no model, whatever the machine's environment."""
    for key in ("LANES_LLM_MODEL", "LANES_LLM_BASE_URL", "LANES_LLM_API_KEY"):
        monkeypatch.delenv(key, raising=False)
    analysis_settings.cache_clear()
    yield
    analysis_settings.cache_clear()


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
