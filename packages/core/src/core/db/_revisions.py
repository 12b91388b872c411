"""Where migration scripts live, and their revision ids read without Alembic or SQLAlchemy.

A worker only needs to know whether the database is at every head. Alembic answers that by
importing every migration module (SQLAlchemy's DDL, Alembic's ``op``, Mako for the script
templates) — a large share of a worker's start-up for a question whose answer is in four literal
assignments at the top of each file. This module reads them with :mod:`ast` and nothing is
imported. Anything it does not understand (a non-literal value, two heads on one branch) makes it
return ``None`` and the caller asks Alembic, so the fast path is never the only judge.
"""

from __future__ import annotations

import ast
import asyncio
import contextlib
import importlib.util
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from core import domains

__all__ = [
    "CORE",
    "ScriptGraph",
    "locations",
    "package_dir",
    "read_scripts",
    "schema_is_current",
]

CORE = "core"
"""The owner of core's own tables (the idempotency ledger)."""

_FIELDS = ("revision", "down_revision")


@dataclass(frozen=True)
class ScriptGraph:
    """Every revision of the scripts with its owner, and each owner's single head."""

    owners: Mapping[str, str]
    """Revision → owner (the branch whose folder holds it)."""
    heads: Mapping[str, str]
    """Owner → its head revision (owners without scripts are absent)."""


def locations() -> dict[str, Path]:
    """Owner → folder of its migration scripts: core's and each installed domain's that has one."""
    found = {CORE: package_dir("core") / "migrations" / "versions"}
    for name, package in sorted(domains.installed().items()):
        path = package_dir(package) / "migrations" / "versions"
        if path.is_dir():
            found[name] = path
    return found


def package_dir(package: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(f"package {package!r} is not installed")
    return Path(next(iter(spec.submodule_search_locations)))


def read_scripts(where: Mapping[str, Path]) -> ScriptGraph | None:
    """The revision graph of the scripts in ``where`` (owner → versions folder), or ``None``."""
    owner_of: dict[str, str] = {}
    parents: set[str] = set()
    for owner, folder in where.items():
        for path in sorted(folder.glob("*.py")) if folder.is_dir() else []:
            found = _identifiers(path)
            if found is None:
                return None
            revision, down = found
            if revision is None:
                continue  # not a migration script (e.g. a helper module)
            owner_of[revision] = owner
            parents.update(down)
    heads: dict[str, str] = {}
    for revision, owner in owner_of.items():
        if revision in parents:
            continue
        if owner in heads:
            return None  # two heads on one branch: a merge is pending; Alembic explains it
        heads[owner] = revision
    return ScriptGraph(owners=owner_of, heads=heads)


def _identifiers(path: Path) -> tuple[str | None, tuple[str, ...]] | None:
    try:
        tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    except (OSError, SyntaxError, ValueError):
        return None
    values: dict[str, object] = {}
    for node in tree.body:
        if isinstance(node, ast.Assign) and len(node.targets) == 1:
            target, value = node.targets[0], node.value
        elif isinstance(node, ast.AnnAssign) and node.value is not None:
            target, value = node.target, node.value
        else:
            continue
        if isinstance(target, ast.Name) and target.id in _FIELDS:
            try:
                values[target.id] = ast.literal_eval(value)
            except ValueError:
                return None
    revision, down = values.get("revision"), values.get("down_revision")
    if revision is not None and not isinstance(revision, str):
        return None
    if down is None:
        return revision, ()
    if isinstance(down, str):
        return revision, (down,)
    if isinstance(down, list | tuple) and all(isinstance(d, str) for d in down):
        return revision, tuple(down)
    return None


def schema_is_current(served: Iterable[str], url: str | None = None) -> bool:
    """Whether core's and the served domains' heads are all applied.

    Answered without SQLAlchemy (the standard library's ``sqlite3``, or one asyncpg query), so a
    worker whose schema is current loads no database layer at start. ``False`` means "not known to
    be current": the caller then takes the full path (:func:`core.db.migrations.
    prepare_worker_schema`), which migrates, refuses, or reports the database unreachable.
    """
    where = locations()
    needed = [CORE, *(d for d in served if d in where and d != CORE)]
    graph = read_scripts(where)
    if graph is None:
        return False
    applied = _applied_revisions(url)
    if applied is None:
        return False
    heads = [graph.heads[b] for b in needed if b in graph.heads]
    # The version table holds one row per branch: with every served head in it, a revision these
    # scripts do not know is another domain's (an image with one domain knows only its own).
    return all(h in applied for h in heads)


def _applied_revisions(url: str | None) -> tuple[str, ...] | None:
    from core.settings import settings

    config = settings()
    if url is None and config.database_url is not None:
        url = config.database_url.get_secret_value()
    if url is None:
        return _sqlite_applied(config.home / "lanes.db")
    scheme, sep, rest = url.partition("://")
    driver = scheme.split("+", 1)[0]
    if not sep:
        return None
    if driver == "sqlite":
        # sqlite:///relative/path or sqlite:////absolute/path, as SQLAlchemy reads them.
        path = rest.split("?", 1)[0]
        if not path.startswith("/") or path[1:] in ("", ":memory:"):
            return None
        return _sqlite_applied(Path(path[1:]))
    if driver in ("postgres", "postgresql"):
        timeout = config.db_connect_timeout.total_seconds()
        return asyncio.run(_postgres_applied(f"postgresql://{rest}", timeout))
    return None


def _sqlite_applied(path: Path) -> tuple[str, ...] | None:
    if not path.exists():
        return ()
    try:
        with contextlib.closing(
            sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)
        ) as conn:
            found = conn.execute(
                "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
            ).fetchone()
            if found is None:
                return ()
            return tuple(r[0] for r in conn.execute("SELECT version_num FROM alembic_version"))
    except sqlite3.Error:
        return None


async def _postgres_applied(dsn: str, timeout: float) -> tuple[str, ...] | None:
    import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information

    try:
        conn = await asyncpg.connect(dsn, timeout=timeout)
    except Exception:  # any failure: let the full path connect and explain it
        return None
    try:
        if await conn.fetchval("SELECT to_regclass('alembic_version')") is None:
            return ()
        return tuple(r[0] for r in await conn.fetch("SELECT version_num FROM alembic_version"))
    except Exception:
        return None
    finally:
        await conn.close()
