"""Which database, with which pool, named without its password."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.db import DatabaseConfigError, database_url, dispose_engines, get_engine, redact
from core.settings import LanesSettings


def test_default_is_a_sqlite_file_under_lanes_home(tmp_path: Path) -> None:
    url = database_url(config=LanesSettings(home=tmp_path / "state"))
    assert url.drivername == "sqlite+aiosqlite"
    assert url.database == str(tmp_path / "state" / "lanes.db")


@pytest.mark.parametrize(
    ("given", "driver"),
    [
        ("postgres://u:p@db/x", "postgresql+asyncpg"),
        ("postgresql://u:p@db/x", "postgresql+asyncpg"),
        ("sqlite:////tmp/x.db", "sqlite+aiosqlite"),
    ],
)
def test_plain_urls_get_the_async_driver(given: str, driver: str) -> None:
    assert database_url(given).drivername == driver


def test_unsupported_or_garbage_urls_are_clear_errors_that_do_not_echo_the_value() -> None:
    with pytest.raises(DatabaseConfigError, match="uses 'mysql', which Lanes does not support"):
        database_url("mysql://u:p@db/x")
    with pytest.raises(DatabaseConfigError, match="is not a database URL") as err:
        database_url("hunter2-pasted-here")
    assert "hunter2" not in str(err.value)


def test_redact_hides_password_and_credential_query_values() -> None:
    shown = redact(
        "postgresql://app:topsecret@db:5432/lanes?sslpassword=alsosecret&sslmode=require"
    )
    assert "topsecret" not in shown
    assert "alsosecret" not in shown
    assert shown.startswith("postgresql://app:***@db:5432/lanes?")
    assert "sslmode=require" in shown


def test_settings_never_show_the_database_url() -> None:
    config = LanesSettings(database_url="postgresql://app:topsecret@db/lanes")  # type: ignore[arg-type]
    assert "topsecret" not in repr(config)


async def test_pool_settings_come_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    from core.settings import settings

    monkeypatch.setenv("LANES_DB_POOL_SIZE", "3")
    monkeypatch.setenv("LANES_DB_MAX_OVERFLOW", "2")
    monkeypatch.setenv("LANES_DB_POOL_TIMEOUT", "7")
    settings.cache_clear()
    try:
        engine = get_engine("postgresql://nobody@127.0.0.1:9/none")  # creating does not connect
        assert engine.pool.size() == 3  # type: ignore[attr-defined]
        assert engine.pool._max_overflow == 2  # type: ignore[attr-defined]
        assert engine.pool._timeout == 7  # type: ignore[attr-defined]
    finally:
        await dispose_engines()
        monkeypatch.undo()
        settings.cache_clear()
