"""Alembic environment of Lanes: all logic lives in :mod:`core.db._alembic_env`."""

from alembic import context

from core.db._alembic_env import run_migrations

run_migrations(context)
