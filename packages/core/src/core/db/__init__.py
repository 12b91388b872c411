"""Persistence for activities: engines and sessions, an upsert and an idempotency ledger.

- :mod:`core.db.engine` — ``session()``: one unit of work per activity run; an unreachable
  database raises the retryable :class:`DatabaseUnavailable`.
- :mod:`core.db.base` — the declarative :class:`Base` every domain's ``models.py`` uses.
- :mod:`core.db.upsert` — ``upsert()``: insert-or-update on a natural key, batched.
- :mod:`core.db.ledger` — ``once()``/``claim()``: a side effect happens once per key.
- :mod:`core.db.migrations` — Alembic over core's and every domain's migration scripts.

See ``docs/persistence.md``.
"""

from core.db.base import Base
from core.db.engine import DatabaseUnavailable, dispose_engines, get_engine, session
from core.db.errors import DatabaseError
from core.db.upsert import UpsertResult, upsert
from core.db.url import DatabaseConfigError, database_url, redact

__all__ = [
    "Base",
    "DatabaseConfigError",
    "DatabaseError",
    "DatabaseUnavailable",
    "UpsertResult",
    "database_url",
    "dispose_engines",
    "get_engine",
    "redact",
    "session",
    "upsert",
]
