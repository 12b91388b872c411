"""Retention: how long rows of a table are kept, declared by their owner, purged in batches.

Each owner declares its retention next to its tables, in its ``models.py``::

    RETENTION = [Retention("sync_runs", "finished_at", timedelta(days=90))]

:func:`declared` collects core's own declarations and the ``RETENTION`` list of every installed
domain's ``<package>.models`` (found through the ``lanes.domains`` entry points, like migrations:
core never names a domain). :func:`purge` deletes the rows whose time column is older than the
declared age, ``batch_size`` rows per transaction, so a purge of millions of rows never holds one
long lock or one huge transaction; a row whose time column is NULL (a run still going, a ledger
claim without an outcome) is never purged.

Who runs the purge is not core's business: the operations domain schedules it daily.
"""

from __future__ import annotations

import importlib
import importlib.util
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Table, delete, select
from sqlalchemy.engine import URL

from core import domains
from core.db.base import Base
from core.db.engine import get_engine, translate_errors

__all__ = ["CORE_RETENTION", "PurgeResult", "Retention", "declared", "purge"]


@dataclass(frozen=True)
class Retention:
    """Rows of ``table`` whose ``column`` is older than ``age`` may be deleted."""

    table: str
    """Table name (as declared on :class:`core.db.Base`)."""
    column: str
    """A timezone-aware ``DateTime`` column: when the row stopped mattering (finished...)."""
    age: timedelta
    """Keep rows younger than this."""

    def __post_init__(self) -> None:
        if self.age <= timedelta(0):
            raise ValueError(f"retention of {self.table!r}: age must be positive, got {self.age}")


CORE_RETENTION: list[Retention] = [
    # Ledger outcomes answer retries of the same key; a month is far beyond any retry policy.
    Retention("lanes_idempotency", "completed_at", timedelta(days=30)),
]


@dataclass(frozen=True)
class PurgeResult:
    """What :func:`purge` deleted from one table."""

    table: str
    deleted: int
    batches: int
    cutoff: datetime
    complete: bool
    """False when ``max_batches`` stopped it with rows still to delete."""


def declared() -> list[Retention]:
    """Core's retention and every installed domain's ``models.RETENTION``."""
    importlib.import_module("core.db.ledger")  # declares lanes_idempotency on Base.metadata
    found = list(CORE_RETENTION)
    for package in sorted(domains.installed().values()):
        module_name = f"{package}.models"
        if importlib.util.find_spec(module_name) is None:
            continue
        module = importlib.import_module(module_name)
        found.extend(getattr(module, "RETENTION", ()))
    for retention in found:
        _table(retention)  # a declaration naming an unknown table or column fails here
    return found


async def purge(
    retention: Retention,
    *,
    batch_size: int = 1000,
    max_batches: int | None = None,
    now: datetime | None = None,
    url: str | URL | None = None,
    on_batch: Callable[[int], None] | None = None,
) -> PurgeResult:
    """Delete rows older than declared, ``batch_size`` per transaction; ``on_batch(deleted)``
    is called after each one (an activity heartbeats there)."""
    table = _table(retention)
    column = table.c[retention.column]
    [key] = table.primary_key.columns  # one-column keys only: every Lanes table has one
    cutoff = (now or datetime.now(UTC)) - retention.age
    engine = get_engine(url)
    deleted = batches = 0
    with translate_errors(engine.url, database_only=True):
        while max_batches is None or batches < max_batches:
            # DELETE ... WHERE key IN (SELECT key ... LIMIT n): the portable bounded delete
            # (neither PostgreSQL nor a default SQLite build has DELETE ... LIMIT).
            doomed = select(key).where(column < cutoff).order_by(key).limit(batch_size)
            async with engine.begin() as conn:
                result = await conn.execute(delete(table).where(key.in_(doomed.scalar_subquery())))
            count = int(result.rowcount or 0)
            if count == 0:
                return PurgeResult(retention.table, deleted, batches, cutoff, True)
            deleted += count
            batches += 1
            if on_batch is not None:
                on_batch(deleted)
            if count < batch_size:
                return PurgeResult(retention.table, deleted, batches, cutoff, True)
    return PurgeResult(retention.table, deleted, batches, cutoff, False)


def _table(retention: Retention) -> Table:
    table = Base.metadata.tables.get(retention.table)
    if table is None:
        raise LookupError(
            f"retention names table {retention.table!r}, which no imported model declares"
        )
    if retention.column not in table.c:
        raise LookupError(f"retention of {retention.table!r} names no column {retention.column!r}")
    return table
