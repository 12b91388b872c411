"""upsert(): the same rows written twice leave one copy, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from core.db import UpsertResult, get_engine, session, upsert

metadata = sa.MetaData()
repos = sa.Table(
    "test_repos",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("owner", sa.String(50), nullable=False),
    sa.Column("name", sa.String(50), nullable=False),
    sa.Column("stars", sa.Integer, nullable=False),
    sa.UniqueConstraint("owner", "name"),
)


@pytest.fixture
async def db(database_url: str) -> str:
    async with get_engine(database_url).begin() as conn:
        await conn.run_sync(metadata.create_all)
    return database_url


async def rows(url: str) -> list[tuple[str, str, int]]:
    async with session(url) as s:
        result = await s.execute(sa.select(repos.c.owner, repos.c.name, repos.c.stars))
        return sorted(tuple(r) for r in result.all())  # type: ignore[misc]


async def test_upserting_the_same_rows_twice_leaves_one_copy(db: str) -> None:
    batch = [
        {"owner": "acme", "name": "api", "stars": 1},
        {"owner": "acme", "name": "web", "stars": 2},
    ]
    async with session(db) as s:
        first = await upsert(s, repos, batch, key=["owner", "name"])
    async with session(db) as s:
        again = await upsert(s, repos, batch, key=["owner", "name"])

    assert first == UpsertResult(inserted=2, updated=0)
    assert again == UpsertResult(inserted=0, updated=2)
    assert await rows(db) == [("acme", "api", 1), ("acme", "web", 2)]


async def test_mixed_batch_counts_inserts_and_updates_and_applies_new_values(db: str) -> None:
    async with session(db) as s:
        await upsert(s, repos, [{"owner": "a", "name": "x", "stars": 1}], key=["owner", "name"])
    async with session(db) as s:
        result = await upsert(
            s,
            repos,
            [{"owner": "a", "name": "x", "stars": 5}, {"owner": "a", "name": "y", "stars": 7}],
            key=["owner", "name"],
        )
    assert result == UpsertResult(inserted=1, updated=1)
    assert await rows(db) == [("a", "x", 5), ("a", "y", 7)]


async def test_batches_larger_than_batch_size_and_duplicates_within_one_call(db: str) -> None:
    batch = [{"owner": "o", "name": f"r{i:03d}", "stars": i} for i in range(250)]
    batch.append({"owner": "o", "name": "r000", "stars": 999})  # last one wins
    async with session(db) as s:
        result = await upsert(s, repos, batch, key=["owner", "name"], batch_size=40)
    assert result == UpsertResult(inserted=250, updated=0)
    stored = await rows(db)
    assert len(stored) == 250
    assert stored[0] == ("o", "r000", 999)


async def test_update_empty_inserts_missing_rows_and_keeps_existing_ones(db: str) -> None:
    async with session(db) as s:
        await upsert(s, repos, [{"owner": "a", "name": "x", "stars": 1}], key=["owner", "name"])
    async with session(db) as s:
        result = await upsert(
            s,
            repos,
            [{"owner": "a", "name": "x", "stars": 9}, {"owner": "a", "name": "z", "stars": 3}],
            key=["owner", "name"],
            update=(),
        )
    assert result == UpsertResult(inserted=1, updated=1)
    assert await rows(db) == [("a", "x", 1), ("a", "z", 3)]


async def test_twenty_concurrent_upserts_of_one_key_end_in_one_row(db: str) -> None:
    async def one(i: int) -> UpsertResult:
        async with session(db) as s:
            return await upsert(
                s, repos, [{"owner": "race", "name": "r", "stars": i}], key=["owner", "name"]
            )

    results = await asyncio.gather(*(one(i) for i in range(20)))

    assert sum(r.inserted for r in results) == 1
    assert sum(r.updated for r in results) == 19
    stored = await rows(db)
    assert len(stored) == 1
    assert stored[0][:2] == ("race", "r")


async def test_bad_calls_say_what_is_wrong(db: str) -> None:
    async with session(db) as s:
        with pytest.raises(ValueError, match=r"key \['name'\] is not the primary key or a unique"):
            await upsert(s, repos, [{"owner": "a", "name": "x", "stars": 1}], key=["name"])
        with pytest.raises(ValueError, match=r"unknown column\(s\) \['colour'\]"):
            await upsert(
                s, repos, [{"owner": "a", "name": "x", "colour": 1}], key=["owner", "name"]
            )
        with pytest.raises(ValueError, match="row 1 has columns"):
            await upsert(
                s,
                repos,
                [{"owner": "a", "name": "x", "stars": 1}, {"owner": "a", "name": "y"}],
                key=["owner", "name"],
            )
