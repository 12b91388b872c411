"""The declarative base every Lanes table is declared on.

One ``MetaData`` for core and every domain, so Alembic sees all tables in one environment. Its
naming convention gives every index and constraint a deterministic name: without it PostgreSQL and
SQLite invent different names, autogenerate proposes spurious renames, and a migration cannot drop
a constraint it never named.
"""

from __future__ import annotations

from sqlalchemy import MetaData
from sqlalchemy.ext.asyncio import AsyncAttrs
from sqlalchemy.orm import DeclarativeBase

__all__ = ["NAMING_CONVENTION", "Base"]

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(AsyncAttrs, DeclarativeBase):
    """Declare a table: ``class Repository(Base): __tablename__ = "sync_repositories"``.

    Prefix table names with the domain (``sync_``, ``mail_``): the schema is shared.
    """

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
