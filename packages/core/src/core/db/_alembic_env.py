"""What ``alembic/env.py`` runs: the shared metadata, per-owner filtering, the migration run.

``lanes db revision --domain D`` autogenerates against the metadata of every owner's models but
writes only D's tables: a table belongs to the owner named in its ``info["domain"]``, else to the
domain whose package declares its mapped class; a table that is in the database but in no model
belongs to D only when its name carries D's prefix.

**Table prefixes.** A domain's tables start with its *import package* name and ``_``: ``sync_``,
``mail_`` for the email domain (its package is ``mail``; ``email`` is the standard library's),
``analysis_``, ``operations_``. Core's start with ``lanes_``. The package, not the domain name,
because it is what the models' module paths and the code already say.
"""

from __future__ import annotations

import importlib
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, MetaData, Table

from core import domains
from core.db.base import Base

__all__ = ["run_migrations", "table_owner", "table_prefix", "target_metadata"]

CORE = "core"


def target_metadata(owners: Mapping[str, Path]) -> MetaData:
    """The shared metadata with every owner's models imported (``<package>.models``)."""
    importlib.import_module("core.db.ledger")
    installed = domains.installed()
    for owner in owners:
        package = installed.get(owner)
        if package is None:
            continue
        try:
            importlib.import_module(f"{package}.models")
        except ModuleNotFoundError as err:
            if err.name != f"{package}.models":
                raise
    return Base.metadata


def table_owner(table: Table) -> str | None:
    """Which owner declares ``table``: ``info["domain"]``, else the package of its mapped class."""
    declared = table.info.get("domain")
    if declared:
        return str(declared)
    packages = {package: name for name, package in domains.installed().items()}
    packages[CORE] = CORE
    for mapper in Base.registry.mappers:
        if table in mapper.tables:
            return packages.get(mapper.class_.__module__.split(".", 1)[0])
    return None


def table_prefix(owner: str) -> str:
    """The prefix of ``owner``'s table names (see the module docs): ``mail_`` for ``email``."""
    if owner == CORE:
        return "lanes_"
    return f"{domains.installed().get(owner, owner)}_"


def run_migrations(context: Any) -> None:
    """The body of ``env.py``: migrate on the connection :func:`_run` passed in."""
    config = context.config
    owners: Mapping[str, Path] = config.attributes["owners"]
    only = config.attributes.get("only_owner")
    metadata = target_metadata(owners)
    connection: Connection = config.attributes["connection"]

    def include_object(obj: Any, name: str | None, kind: str, reflected: bool, other: Any) -> bool:
        if kind != "table" or only is None:
            return True
        if reflected and other is None:
            # In the database but in no model: the owner's only if it carries the owner's prefix.
            return bool(name and name.startswith(table_prefix(only)))
        return bool(table_owner(obj if not reflected else other) == only)

    context.configure(
        connection=connection,
        target_metadata=metadata,
        include_object=include_object,
        compare_type=True,
        # SQLite alters tables by copying them; batch mode writes migrations that do that.
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        context.run_migrations()
