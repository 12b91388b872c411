"""Alembic environment of Lanes: all logic lives in :mod:`core.db.migrations`."""

from alembic import context
from core.db.migrations import run_migrations

run_migrations(context)
