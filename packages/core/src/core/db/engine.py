"""Engines and sessions: one engine per database URL per process, one session per activity run.

``async with session() as s:`` is the unit of work: it commits when the block ends and rolls back
when it raises. It connects on entry, so an unreachable database fails there, before the block
starts doing work.

**A database that is down is a retryable failure.** Connection refused, a dropped connection, a
connect timeout or an exhausted pool become :class:`DatabaseUnavailable`: a plain exception, which
Temporal retries under the activity's policy (no policy lists it as non-retryable). Its message
names the database with the password hidden and says the attempt will be retried. Other database
errors (a constraint violation, bad SQL) pass through unchanged. ``pool_pre_ping`` lets a worker
recover by itself once the database is back: stale pooled connections are replaced on checkout.

Engines are disposed when a worker shuts down (:func:`dispose_engines`).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event, exc
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

from core import telemetry
from core.db.errors import DatabaseError
from core.db.url import database_url, redact
from core.settings import settings

__all__ = [
    "DatabaseUnavailable",
    "dispose_engines",
    "get_engine",
    "is_unavailable",
    "session",
    "translate_errors",
]


class DatabaseUnavailable(DatabaseError, RuntimeError):
    """The database could not be reached; retrying later is the right response."""


_ENGINES: dict[str, AsyncEngine] = {}
_SESSIONS: dict[str, async_sessionmaker[AsyncSession]] = {}


def get_engine(url: str | URL | None = None) -> AsyncEngine:
    """The process's engine for ``url`` (default: ``LANES_DATABASE_URL``), created on first use."""
    resolved = database_url(url)
    key = resolved.render_as_string(hide_password=False)
    engine = _ENGINES.get(key)
    if engine is None:
        engine = _ENGINES[key] = _create(resolved)
    return engine


def _create(url: URL) -> AsyncEngine:
    config = settings()
    connect_timeout = config.db_connect_timeout.total_seconds()
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            Path(url.database).parent.mkdir(parents=True, exist_ok=True)
        # `timeout` is SQLite's busy timeout: writers queue for the write lock instead of failing.
        engine = create_async_engine(url, connect_args={"timeout": 30})
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    else:
        engine = create_async_engine(
            url,
            pool_size=config.db_pool_size,
            max_overflow=config.db_max_overflow,
            pool_timeout=config.db_pool_timeout.total_seconds(),
            pool_recycle=int(config.db_pool_recycle.total_seconds()),
            pool_pre_ping=True,
            connect_args={"timeout": connect_timeout},
        )
    # SQL statements become child spans of the activity that runs them (no-op without tracing).
    telemetry.instrument_sqlalchemy(engine)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    # WAL lets readers run while one writer writes; foreign keys are off in SQLite by default.
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


@asynccontextmanager
async def session(url: str | URL | None = None) -> AsyncIterator[AsyncSession]:
    """A session that commits when the block ends, rolls back when it raises."""
    url = database_url(url)
    engine = get_engine(url)
    key = url.render_as_string(hide_password=False)
    factory = _SESSIONS.get(key)
    if factory is None:
        factory = _SESSIONS[key] = async_sessionmaker(engine, expire_on_commit=False)
    async with factory() as s:
        with translate_errors(url, database_only=True):
            await s.connection()
        with translate_errors(url):
            try:
                yield s
                await s.commit()
            except BaseException:
                # The rollback of a dead connection may fail too; the first error is the story.
                with contextlib.suppress(Exception):
                    await s.rollback()
                raise


# PostgreSQL SQLSTATEs that mean "not reachable right now": class 08 (connection exception),
# admin/crash shutdown, cannot connect now (starting up), too many connections.
_UNAVAILABLE_SQLSTATES = ("08", "57P01", "57P02", "57P03", "53300")
# SQLite reports everything as OperationalError; only these mean the file cannot be used now.
_SQLITE_UNAVAILABLE = ("unable to open database", "database is locked", "disk i/o error")


def is_unavailable(err: exc.DBAPIError) -> bool:
    """Whether ``err`` means the database cannot be reached (as opposed to a bad statement)."""
    if err.connection_invalidated or isinstance(err, exc.InterfaceError):
        return True
    sqlstate = getattr(err.orig, "sqlstate", None)
    if isinstance(sqlstate, str):
        return sqlstate.startswith(_UNAVAILABLE_SQLSTATES)
    text = str(err.orig).lower()
    return isinstance(err, exc.OperationalError) and any(s in text for s in _SQLITE_UNAVAILABLE)


@contextmanager
def translate_errors(url: URL, *, database_only: bool = False) -> Iterator[None]:
    """Turn connection failures into :class:`DatabaseUnavailable` (retryable, password hidden).

    ``database_only``: the block only talks to the database, so any ``OSError`` is the database's
    (asyncpg raises ``ConnectionRefusedError`` unwrapped). Elsewhere only SQLAlchemy's own
    connection errors are translated, never an unrelated ``OSError`` from the caller's code.
    """
    try:
        yield
    except DatabaseUnavailable:
        raise
    except exc.DBAPIError as err:
        if not is_unavailable(err):
            raise
        raise _unavailable(url, err.orig if err.orig is not None else err) from None
    except exc.TimeoutError as err:
        raise _unavailable(url, err) from None
    except (OSError, TimeoutError) as err:
        if not database_only:
            raise
        raise _unavailable(url, err) from None


def _unavailable(url: URL, cause: BaseException) -> DatabaseUnavailable:
    detail = str(cause).splitlines()[0] if str(cause) else type(cause).__name__
    advice = "check that it is running and reachable"
    if "ssl" in detail.lower():
        advice = (
            "the server and the URL's sslmode disagree about TLS; enable TLS on the server "
            "or change sslmode"
        )
    return DatabaseUnavailable(
        f"database {redact(url)} is unavailable ({type(cause).__name__}: {detail}); "
        f"{advice} (activities retry this error)"
    )


async def dispose_engines() -> None:
    """Close every pooled connection this process holds (worker shutdown, end of tests)."""
    engines = list(_ENGINES.values())
    _ENGINES.clear()
    _SESSIONS.clear()
    for engine in engines:
        await engine.dispose()
