"""Insert-or-update on a natural key, so an activity that runs twice writes its rows once.

``await upsert(session, Repository, rows, key=["owner", "name"])`` inserts the rows that are new
and updates the others, in batches, as one ``INSERT ... ON CONFLICT (key) DO UPDATE`` statement
per batch on both PostgreSQL and SQLite. Concurrent upserts of the same key never fail with a
unique violation: the database resolves the race.

It reports how many rows were inserted and how many updated, honestly:

- PostgreSQL: ``RETURNING (xmax = 0)`` — a freshly inserted row version has no deleting/locking
  transaction, an updated one carries the upserting transaction's id. One statement, no race.
- SQLite: ``INSERT ... ON CONFLICT DO NOTHING RETURNING`` first (those rows are the inserted
  ones), then the upsert of the rest (all updates). SQLite has one writer at a time and the first
  statement took the write lock, so nothing can change between the two.

Rows of one call are de-duplicated by key (the last one wins) — PostgreSQL refuses to touch a row
twice in one statement — and sorted by key, so concurrent batches lock rows in the same order and
cannot deadlock.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Table, UniqueConstraint, literal_column
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import DeclarativeBase

__all__ = ["UpsertResult", "upsert"]

# Bound parameters per statement: asyncpg allows 32,767; SQLite builds since 3.32 allow 32,766.
_MAX_PARAMETERS = 32_000


@dataclass(frozen=True)
class UpsertResult:
    """What one :func:`upsert` call did."""

    inserted: int = 0
    """Rows that did not exist before."""
    updated: int = 0
    """Rows that existed and were updated (or left as they were, with ``update=()``)."""

    def __add__(self, other: UpsertResult) -> UpsertResult:
        return UpsertResult(self.inserted + other.inserted, self.updated + other.updated)


async def upsert(
    session: AsyncSession,
    target: type[DeclarativeBase] | Table,
    rows: Iterable[Mapping[str, Any]],
    *,
    key: Sequence[str],
    update: Sequence[str] | None = None,
    batch_size: int = 500,
) -> UpsertResult:
    """Insert ``rows`` into ``target``, updating the rows whose ``key`` already exists.

    Args:
        session: Where to write; the caller's transaction commits it.
        target: A mapped class or a ``Table``.
        rows: Column name → value mappings, all with the same columns.
        key: Columns of the primary key or a unique constraint that identify a row.
        update: Columns to overwrite on an existing row. Default: every given non-key column;
            ``()`` inserts missing rows and leaves existing ones untouched.
        batch_size: Rows per statement (fewer when rows are wide). Default: 500.
    """
    table: Table = target if isinstance(target, Table) else target.__table__  # type: ignore[assignment]
    batch = _dedupe(table, list(rows), tuple(key))
    if not batch:
        return UpsertResult()
    columns = list(batch[0])
    updated_columns = _updated_columns(table, columns, key, update)
    per_statement = max(1, min(batch_size, _MAX_PARAMETERS // len(columns)))
    dialect = session.bind.dialect.name
    total = UpsertResult()
    for start in range(0, len(batch), per_statement):
        chunk = batch[start : start + per_statement]
        if dialect == "postgresql":
            total += await _postgresql(session, table, chunk, key, updated_columns)
        elif dialect == "sqlite":
            total += await _sqlite(session, table, chunk, key, updated_columns)
        else:
            raise NotImplementedError(f"upsert supports PostgreSQL and SQLite, not {dialect}")
    return total


async def _postgresql(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str],
) -> UpsertResult:
    # One single-row statement executed over the list of rows: SQLAlchemy caches its compiled
    # form and batches it ("insertmanyvalues"). A multi-row VALUES built per batch was compiled
    # afresh every time and cost most of a large sync's CPU.
    stmt = postgresql.insert(table)
    if update:
        stmt = stmt.on_conflict_do_update(
            index_elements=list(key), set_={c: stmt.excluded[c] for c in update}
        )
        fresh = (literal_column("xmax") == 0).label("inserted")
        flags = (await session.execute(stmt.returning(fresh), rows)).scalars().all()
        inserted = sum(1 for f in flags if f)
        return UpsertResult(inserted=inserted, updated=len(flags) - inserted)
    stmt = stmt.on_conflict_do_nothing(index_elements=list(key))
    returned = await session.execute(stmt.returning(*(table.c[k] for k in key)), rows)
    inserted = len(returned.all())
    return UpsertResult(inserted=inserted, updated=len(rows) - inserted)


async def _sqlite(
    session: AsyncSession,
    table: Table,
    rows: list[dict[str, Any]],
    key: Sequence[str],
    update: Sequence[str],
) -> UpsertResult:
    # Cached single-row statements over the list of rows, as for PostgreSQL above.
    first = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
    returned = await session.execute(first.returning(*(table.c[k] for k in key)), rows)
    new_keys = {tuple(r) for r in returned.all()}
    existing = [r for r in rows if tuple(r[k] for k in key) not in new_keys]
    if existing and update:
        second = sqlite.insert(table)
        second = second.on_conflict_do_update(
            index_elements=list(key), set_={c: second.excluded[c] for c in update}
        )
        await session.execute(second, existing)
    return UpsertResult(inserted=len(new_keys), updated=len(existing))


def _dedupe(
    table: Table, rows: list[Mapping[str, Any]], key: tuple[str, ...]
) -> list[dict[str, Any]]:
    if not key:
        raise ValueError(f"upsert into {table.name}: pass key=[...] naming the natural key")
    if rows:
        _check_key(table, key)
    columns = set(rows[0]) if rows else set()
    unknown = columns - set(table.c.keys())
    if unknown:
        raise ValueError(
            f"upsert into {table.name}: unknown column(s) {sorted(unknown)}; "
            f"its columns are {sorted(table.c.keys())}"
        )
    by_key: dict[tuple[Any, ...], dict[str, Any]] = {}
    for i, row in enumerate(rows):
        if set(row) != columns:
            raise ValueError(
                f"upsert into {table.name}: row {i} has columns {sorted(row)}, row 0 has "
                f"{sorted(columns)}; give every row the same columns"
            )
        missing = [k for k in key if k not in row]
        if missing:
            raise ValueError(f"upsert into {table.name}: row {i} lacks key column(s) {missing}")
        by_key[tuple(row[k] for k in key)] = dict(row)
    return [by_key[k] for k in sorted(by_key, key=_sort_key)]


def _sort_key(values: tuple[Any, ...]) -> tuple[tuple[bool, Any], ...]:
    # None sorts first instead of failing to compare; keys of one table share types otherwise.
    return tuple((v is not None, v) for v in values)


def _check_key(table: Table, key: tuple[str, ...]) -> None:
    unique = [tuple(c.name for c in table.primary_key.columns)]
    unique += [
        tuple(c.name for c in con.columns)
        for con in table.constraints
        if isinstance(con, UniqueConstraint)
    ]
    unique += [tuple(c.name for c in ix.columns) for ix in table.indexes if ix.unique]
    if not any(set(u) == set(key) for u in unique):
        raise ValueError(
            f"upsert into {table.name}: key {list(key)} is not the primary key or a unique "
            f"constraint of the table (those are {[list(u) for u in unique]}); "
            "ON CONFLICT needs one of them"
        )


def _updated_columns(
    table: Table, columns: list[str], key: Sequence[str], update: Sequence[str] | None
) -> list[str]:
    if update is None:
        return [c for c in columns if c not in key]
    missing = [c for c in update if c not in columns]
    if missing:
        raise ValueError(
            f"upsert into {table.name}: update={list(update)} names {missing}, "
            "which the rows do not carry"
        )
    return list(update)
