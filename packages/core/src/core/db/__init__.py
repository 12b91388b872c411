"""Persistence for activities: engines and sessions, an upsert and an idempotency ledger.

- :mod:`core.db.engine` — ``session()``: one unit of work per activity run; an unreachable
  database raises the retryable :class:`DatabaseUnavailable`.
- :mod:`core.db.base` — the declarative :class:`Base` every domain's ``models.py`` uses.
- :mod:`core.db._upsert` — ``upsert()``: insert-or-update on a natural key, batched.
- :mod:`core.db.ledger` — ``once()``/``claim()``: a side effect happens once per key.
- :mod:`core.db.migrations` — Alembic over core's and every domain's migration scripts.

Names are re-exported lazily: importing ``core.db.errors`` (as the worker bootstrap and the CLI
do) must not cost a SQLAlchemy import in processes that never touch the database.
See ``docs/persistence.md``.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from core.db._upsert import UpsertResult, upsert
    from core.db.base import Base
    from core.db.engine import DatabaseUnavailable, dispose_engines, get_engine, session
    from core.db.errors import DatabaseError
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

_WHERE = {
    "Base": "core.db.base",
    "DatabaseConfigError": "core.db.url",
    "DatabaseError": "core.db.errors",
    "DatabaseUnavailable": "core.db.engine",
    "UpsertResult": "core.db._upsert",
    "database_url": "core.db.url",
    "dispose_engines": "core.db.engine",
    "get_engine": "core.db.engine",
    "redact": "core.db.url",
    "session": "core.db.engine",
    "upsert": "core.db._upsert",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'core.db' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)
