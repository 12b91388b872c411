"""Which database, and how to name it without leaking its password.

``LANES_DATABASE_URL`` takes the usual forms (``postgresql://``, ``postgres://``,
``sqlite:///path``); the async driver (asyncpg, aiosqlite) is filled in, so the same URL works for
``psql``-style tools and for Lanes. TLS to PostgreSQL: ``?sslmode=require`` (or ``verify-ca``,
``verify-full``), given to asyncpg as its ``ssl=``; certificates come from ``PGSSLROOTCERT``,
``PGSSLCERT`` and ``PGSSLKEY``. Unset, it is the SQLite file ``<LANES_HOME>/lanes.db``.

Every URL that reaches a log line or an error goes through :func:`redact` (that is
:func:`core.redact.redact_url`): the password and any credential-like query parameter become
``***``.
"""

from __future__ import annotations

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from core.db.errors import DatabaseError
from core.redact import redact_url as redact
from core.settings import LanesSettings, settings

__all__ = ["DatabaseConfigError", "database_url", "redact"]

_DRIVERS = {
    "postgres": "postgresql+asyncpg",
    "postgresql": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
}


class DatabaseConfigError(DatabaseError, ValueError):
    """``LANES_DATABASE_URL`` is not a URL Lanes can use."""


def database_url(url: str | URL | None = None, config: LanesSettings | None = None) -> URL:
    """The async SQLAlchemy URL for ``url`` (default: ``LANES_DATABASE_URL`` or the SQLite file)."""
    if url is None:
        config = config or settings()
        secret = config.database_url
        if secret is None:
            return URL.create("sqlite+aiosqlite", database=str(config.home / "lanes.db"))
        url = secret.get_secret_value()
    try:
        parsed = make_url(url)
    except ArgumentError:
        # Not echoed back: an unparseable value may be a password pasted in the wrong place.
        raise DatabaseConfigError(
            "LANES_DATABASE_URL is not a database URL; use e.g. "
            "postgresql://user:password@host:5432/dbname or sqlite:///path/to/lanes.db"
        ) from None
    driver = _DRIVERS.get(parsed.drivername)
    if driver is None:
        raise DatabaseConfigError(
            f"LANES_DATABASE_URL uses {parsed.drivername!r}, which Lanes does not support; "
            "use postgresql://... (asyncpg) or sqlite:///... (aiosqlite)"
        )
    if driver == "postgresql+asyncpg":
        parsed = _asyncpg_tls(parsed)
    return parsed.set(drivername=driver)


_SSLMODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
_LIBPQ_FILES = {"sslrootcert": "PGSSLROOTCERT", "sslcert": "PGSSLCERT", "sslkey": "PGSSLKEY"}


def _asyncpg_tls(url: URL) -> URL:
    """libpq's ``sslmode=`` as asyncpg's ``ssl=`` (SQLAlchemy would pass it through unchanged
    and asyncpg would fail with a TypeError)."""
    query = dict(url.query)
    mode = query.pop("sslmode", None)
    if mode is not None:
        if mode not in _SSLMODES:
            raise DatabaseConfigError(
                f"LANES_DATABASE_URL has sslmode={mode!r}; use one of {', '.join(_SSLMODES)}"
            )
        query["ssl"] = mode
    files = [k for k in _LIBPQ_FILES if k in query]
    if files:
        names = ", ".join(f"{k} (set {_LIBPQ_FILES[k]} instead)" for k in files)
        raise DatabaseConfigError(
            f"LANES_DATABASE_URL names {names}: asyncpg reads certificate paths from the "
            "environment, not from the URL"
        )
    return url.set(query=query)
