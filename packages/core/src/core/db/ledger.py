"""The idempotency ledger: a side effect happens once per key, however often it is retried.

An activity that sends an email or charges a card cannot be made safe to repeat by an upsert. It
claims a key first; the database's primary key decides who wins, never a read-then-write::

    result = await ledger.once(f"mail.send:{input.idempotency_key}", lambda: send(input))

- The first caller **claims** the key (``INSERT ... ON CONFLICT DO NOTHING``; the row it inserted
  is the proof), runs the effect and **records** its outcome (JSON) in the same row.
- Every claim has an **owner** (the activity attempt plus a random suffix). ``record`` and
  ``release`` change the row only while that owner still holds it: an attempt whose lease expired
  and was taken over can neither release the new holder's claim (which would let a third caller
  run the effect alongside it) nor overwrite its outcome; it gets :class:`ClaimLost`.
- A later caller with the same key gets the recorded outcome back and the effect does not run.
- A caller that races the first while the effect is still running waits up to ``wait`` for the
  outcome, then raises :class:`ClaimHeld` — retryable, so the activity's next attempt finds the
  outcome.
- An effect that raises **releases** the claim, so a retry can try again.
- A claim is a lease (default: the activity's start-to-close timeout, else 5 minutes). A worker
  that died mid-effect leaves an expired claim, which the next caller takes over with a
  conditional ``UPDATE`` — again exactly one winner. The effect may then have happened twice (the
  dead worker's fate is unknown), so choose a lease longer than the effect can take. The same
  holds when the effect ran but recording its outcome failed (the database went away in
  between): the key stays held until the lease expires, and the effect may then run again.
- Lease times come from the **database's clock** (``clock_timestamp()`` on PostgreSQL,
  ``strftime('%f', 'now')`` on SQLite), never a worker's: two workers whose clocks disagree still
  agree on when a lease has expired.

The table is core's (``lanes_idempotency``, created by core's migration); each step commits at
once in its own short transaction so racing workers see it.
"""

from __future__ import annotations

import asyncio
import contextlib
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, TypeVar, cast

import pydantic_core
from sqlalchemy import JSON, DateTime, String, Table, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.orm import Mapped, mapped_column
from sqlalchemy.sql.elements import ColumnElement
from temporalio import activity

from core.activities import type_adapter
from core.db.base import Base
from core.db.engine import get_engine, translate_errors
from core.db.errors import DatabaseError

__all__ = [
    "Claim",
    "ClaimHeld",
    "ClaimLost",
    "IdempotencyRecord",
    "claim",
    "once",
    "record",
    "release",
]

T = TypeVar("T")

DEFAULT_LEASE = timedelta(minutes=5)
CLAIMED, DONE = "claimed", "done"


class IdempotencyRecord(Base):
    """One claimed key and, once the effect ran, its outcome."""

    __tablename__ = "lanes_idempotency"

    key: Mapped[str] = mapped_column(String(255), primary_key=True)
    state: Mapped[str] = mapped_column(String(16))
    outcome: Mapped[Any] = mapped_column(JSON, nullable=True)
    owner: Mapped[str] = mapped_column(String(255))
    claimed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    lease_until: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    completed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


TABLE = cast(Table, IdempotencyRecord.__table__)


class ClaimHeld(DatabaseError, RuntimeError):
    """Another attempt holds the key and has not recorded an outcome yet; retry later."""


class ClaimLost(DatabaseError, RuntimeError):
    """This caller's claim expired and another took the key over (or it was never claimed)."""


@dataclass(frozen=True)
class Claim:
    """The answer to :func:`claim`."""

    key: str
    acquired: bool
    """This caller owns the key: run the effect, then :func:`record` (or :func:`release`) with
    ``owner=claim.owner``."""
    done: bool = False
    """The effect already ran; ``outcome`` is what it recorded."""
    outcome: Any = None
    owner: str = ""
    """Who holds or held the key (workflow id / activity id / attempt)."""
    lease_until: datetime | None = None


async def claim(
    key: str,
    *,
    lease: timedelta | None = None,
    owner: str | None = None,
    url: str | URL | None = None,
) -> Claim:
    """Claim ``key`` for one run of a side effect; see the module docstring."""
    engine = get_engine(url)
    lease = lease or _default_lease()
    owner = owner or _default_owner()
    with translate_errors(engine.url, database_only=True):
        for _ in range(3):  # a claim released between our steps: look again
            lease_until = await _insert(engine, key, owner, lease)
            if lease_until is None:
                lease_until = await _take_over_expired(engine, key, owner, lease)
            if lease_until is not None:
                return Claim(key, acquired=True, owner=owner, lease_until=_aware(lease_until))
            async with engine.connect() as conn:
                row = (await conn.execute(select(TABLE).where(TABLE.c.key == key))).one_or_none()
            if row is not None:
                return Claim(
                    key,
                    acquired=False,
                    done=row.state == DONE,
                    outcome=row.outcome,
                    owner=row.owner,
                    lease_until=_aware(row.lease_until),
                )
    raise ClaimHeld(f"idempotency key {key!r} keeps changing hands; retry later")


async def record(key: str, outcome: Any, *, owner: str, url: str | URL | None = None) -> None:
    """Record ``outcome`` (JSON-able) for a key ``owner`` still holds; else :class:`ClaimLost`."""
    engine = get_engine(url)
    value = pydantic_core.to_jsonable_python(outcome)
    with translate_errors(engine.url, database_only=True):
        async with engine.begin() as conn:
            result = await conn.execute(
                update(TABLE)
                .where(TABLE.c.key == key, TABLE.c.state == CLAIMED, TABLE.c.owner == owner)
                .values(state=DONE, outcome=value, completed_at=_db_time(engine))
            )
    if result.rowcount != 1:
        raise ClaimLost(
            f"idempotency key {key!r} is not held by {owner}: its lease expired and another "
            "attempt took it over (or it was never claimed); the outcome was not recorded. "
            "Choose a lease longer than the effect takes."
        )


async def release(key: str, *, owner: str, url: str | URL | None = None) -> bool:
    """Give up ``owner``'s claim without an outcome, so the next attempt runs the effect.

    Returns whether a claim was released; ``False`` when ``owner`` no longer held the key.
    """
    engine = get_engine(url)
    with translate_errors(engine.url, database_only=True):
        async with engine.begin() as conn:
            result = await conn.execute(
                delete(TABLE).where(
                    TABLE.c.key == key, TABLE.c.state == CLAIMED, TABLE.c.owner == owner
                )
            )
    return bool(result.rowcount == 1)


async def once(
    key: str,
    effect: Callable[[], Awaitable[T]],
    *,
    result_type: Any = None,
    wait: timedelta = timedelta(0),
    lease: timedelta | None = None,
    url: str | URL | None = None,
) -> T:
    """Run ``effect`` once for ``key``; a repeat returns the outcome the first run recorded.

    A recorded outcome comes back as JSON (dicts, lists...) unless ``result_type`` is given, in
    which case it is validated into that type. ``wait`` is how long to wait for a concurrent
    holder of the key to finish before raising :class:`ClaimHeld`.
    """
    deadline = asyncio.get_running_loop().time() + wait.total_seconds()
    delay = 0.05
    while True:
        got = await claim(key, lease=lease, url=url)
        if got.acquired:
            break
        if got.done:
            if result_type is None:
                return got.outcome  # type: ignore[no-any-return]
            return type_adapter(result_type).validate_python(got.outcome)  # type: ignore[no-any-return]
        if asyncio.get_running_loop().time() + delay > deadline:
            raise ClaimHeld(
                f"idempotency key {key!r} is held by {got.owner} until {got.lease_until} "
                "and has no outcome yet; the activity will be retried"
            )
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)
    try:
        outcome = await effect()
    except BaseException:
        # If the release fails too (database gone), the lease expires instead; the effect's own
        # error is the one to report.
        with contextlib.suppress(Exception):
            await release(key, owner=got.owner, url=url)
        raise
    await record(key, outcome, owner=got.owner, url=url)
    return outcome


async def _insert(engine: AsyncEngine, key: str, owner: str, lease: timedelta) -> datetime | None:
    insert = postgresql.insert if engine.dialect.name == "postgresql" else sqlite.insert
    stmt = (
        insert(TABLE)
        .values(
            key=key,
            state=CLAIMED,
            owner=owner,
            claimed_at=_db_time(engine),
            lease_until=_db_time(engine, lease),
        )
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(TABLE.c.lease_until)
    )
    async with engine.begin() as conn:
        return (await conn.execute(stmt)).scalar_one_or_none()


async def _take_over_expired(
    engine: AsyncEngine, key: str, owner: str, lease: timedelta
) -> datetime | None:
    stmt = (
        update(TABLE)
        .where(TABLE.c.key == key, TABLE.c.state == CLAIMED, TABLE.c.lease_until < _db_time(engine))
        .values(owner=owner, claimed_at=_db_time(engine), lease_until=_db_time(engine, lease))
        .returning(TABLE.c.lease_until)
    )
    async with engine.begin() as conn:
        return (await conn.execute(stmt)).scalar_one_or_none()


def _db_time(engine: AsyncEngine, plus: timedelta = timedelta(0)) -> ColumnElement[Any]:
    """The database's current time (plus ``plus``) as a SQL expression, in the column's format."""
    if engine.dialect.name == "postgresql":
        # clock_timestamp(), not now(): now() is frozen at the start of the transaction.
        return func.clock_timestamp() + plus
    # SQLite: text in the format SQLAlchemy stores DateTime in (microseconds, 6 digits), so that
    # these values and the stored ones compare correctly as text.
    modifier = f"{plus.total_seconds():+.3f} seconds"
    return func.strftime("%Y-%m-%d %H:%M:%f000", "now", modifier)


def _default_lease() -> timedelta:
    if activity.in_activity():
        info = activity.info()
        return info.start_to_close_timeout or info.schedule_to_close_timeout or DEFAULT_LEASE
    return DEFAULT_LEASE


def _default_owner() -> str:
    # The random suffix tells two callers apart even when they share an attempt (or run outside
    # any activity), so record() and release() can never act on someone else's claim.
    suffix = uuid.uuid4().hex[:8]
    if activity.in_activity():
        info = activity.info()
        return f"{info.workflow_id}/{info.activity_id}#{info.attempt}"[:246] + f"~{suffix}"
    return f"outside-activity~{suffix}"


def _aware(value: datetime | None) -> datetime | None:
    # SQLite hands back naive datetimes; they were stored as UTC.
    if value is not None and value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value
