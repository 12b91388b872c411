"""session(): commits on success, rolls back on error, lets ordinary database errors through."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from core.db import DatabaseUnavailable, get_engine, session

metadata = sa.MetaData()
notes = sa.Table(
    "test_notes",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True),
    sa.Column("text", sa.Text),
)


async def count(url: str) -> int:
    async with session(url) as s:
        return int((await s.execute(sa.select(sa.func.count()).select_from(notes))).scalar_one())


async def insert_then_fail(url: str) -> None:
    async with session(url) as s:
        await s.execute(notes.insert().values(id=2, text="rolled back"))
        raise RuntimeError("boom")


async def test_commit_on_success_rollback_on_error(database_url: str) -> None:
    async with get_engine(database_url).begin() as conn:
        await conn.run_sync(metadata.create_all)

    async with session(database_url) as s:
        await s.execute(notes.insert().values(id=1, text="kept"))
    with pytest.raises(RuntimeError, match="boom"):
        await insert_then_fail(database_url)
    # A constraint violation is a bug or a real conflict, not an outage: it is not translated.
    with pytest.raises(IntegrityError):
        async with session(database_url) as s:
            await s.execute(notes.insert().values(id=1, text="duplicate"))

    # Nor is a missing table (SQLite calls it an OperationalError, like a locked file).
    with pytest.raises(sa.exc.DBAPIError, match="no_such_table") as err:
        async with session(database_url) as s:
            await s.execute(sa.text("SELECT * FROM no_such_table"))
    assert not isinstance(err.value, DatabaseUnavailable)

    assert await count(database_url) == 1
