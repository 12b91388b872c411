"""Alembic migrations for core and every domain, in one environment.

**Layout.** Each owner keeps its migration scripts next to its models, in
``<package>/migrations/versions/``: core's (the idempotency ledger) in ``core/migrations/versions``,
the sync domain's in ``sync/migrations/versions`` beside ``sync/models.py``. Each owner is one
Alembic *branch* whose base revision carries the owner's name as branch label (``core``, ``sync``),
so ``lanes db upgrade`` brings every branch to its head and ``lanes db downgrade sync@base`` undoes
one domain. Owners are found through the ``lanes.domains`` entry points, like everything else: an
image that installs one domain migrates core and that domain.

**Why programmatic.** There is no ``alembic.ini``: the database URL is Lanes' own
(``LANES_DATABASE_URL``, never written to a file) and the version locations depend on what is
installed. Alembic runs on a connection of Lanes' async engine (``run_sync``), so the same code
path serves SQLite and PostgreSQL, and on PostgreSQL a transaction-level advisory lock keeps two
concurrent ``upgrade`` runs from interleaving.

**What a worker does at start** (:func:`prepare_worker_schema`, called by ``core.worker.run``):

- A worker whose domains declare no tables (no ``migrations/versions`` folder) does not touch the
  database at all.
- Otherwise the database must be at the head of core's branch and of each served domain's. The
  worker first asks :func:`core.db._revisions.schema_is_current`, which reads the scripts'
  revision ids with :mod:`ast` and the applied ones with ``sqlite3`` or one asyncpg query: a
  current schema costs no SQLAlchemy or Alembic import. Only otherwise does it come here, where
  Alembic is loaded when something must change.
- Behind on **SQLite** (the embedded default, one machine): the worker migrates the file itself,
  under a file lock so two workers starting together do not both migrate, so ``uv run
  sync-worker`` works from the first command on a fresh clone.
- Behind on **PostgreSQL** (shared, production): it refuses to start with
  :class:`SchemaOutOfDate` naming ``lanes db upgrade``. A schema change there is a deploy step run
  once, not something every replica races to do on start.
- A revision this code does not know (newer code migrated the database) is refused on both.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import shutil
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text
from sqlalchemy.engine import URL
from sqlalchemy.exc import DBAPIError

from core import domains
from core.db._revisions import CORE, locations, package_dir, read_scripts
from core.db.engine import dispose_engines, get_engine, is_unavailable, translate_errors
from core.db.errors import DatabaseError
from core.db.url import database_url, redact

if TYPE_CHECKING:
    # Alembic (and Mako through it) is imported by the functions that run it: a worker whose
    # schema is current never loads it (see prepare_worker_schema).
    from alembic.config import Config
    from alembic.script import ScriptDirectory

__all__ = [
    "MigrationError",
    "SchemaOutOfDate",
    "SchemaStatus",
    "current",
    "downgrade",
    "locations",
    "prepare_worker_schema",
    "require_current_schema",
    "revision",
    "upgrade",
]

log = logging.getLogger("lanes.db")

ALEMBIC_DIR = Path(__file__).parent / "alembic"
# Any fixed number: the key of the PostgreSQL advisory lock that serialises migration runs.
_ADVISORY_LOCK_KEY = 0x1A7E5_0DB


class MigrationError(DatabaseError, RuntimeError):
    """A migration command failed; the message says why and what to do."""


class SchemaOutOfDate(MigrationError):
    """The database schema does not match this code's migrations."""


@dataclass(frozen=True)
class SchemaStatus:
    """Where the database stands against the migration scripts."""

    url: str
    """The database, password hidden."""
    applied: tuple[str, ...]
    """Revisions recorded in the database (one per branch head reached)."""
    heads: Mapping[str, str]
    """Branch (owner) → head revision of its scripts."""
    branches: Mapping[str, str | None] = field(default_factory=dict)
    """Branch → revision applied in the database, ``None`` when none is."""
    unknown: tuple[str, ...] = ()
    """Applied revisions no script here knows (the database was migrated by newer code)."""

    @property
    def behind(self) -> list[str]:
        """Branches whose head is not applied."""
        return [b for b, head in self.heads.items() if head not in self.applied]

    @property
    def up_to_date(self) -> bool:
        return not self.behind and not self.unknown


def alembic_config(where: Mapping[str, Path]) -> Config:
    """An Alembic config for the given version folders; no ini file is involved."""
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(ALEMBIC_DIR))
    config.set_main_option("path_separator", "os")
    paths = [str(p).replace("%", "%%") for p in where.values()]  # configparser interpolation
    config.set_main_option("version_locations", os.pathsep.join(paths))
    ruff = shutil.which("ruff")
    if ruff is not None:
        # Generated scripts then pass `ruff check` and `ruff format --check` as written.
        hooks = {
            "hooks": "ruff_fix, ruff_format",
            "ruff_fix.type": "exec",
            "ruff_fix.executable": ruff,
            "ruff_fix.options": "check --fix --exit-zero --quiet REVISION_SCRIPT_FILENAME",
            "ruff_format.type": "exec",
            "ruff_format.executable": ruff,
            "ruff_format.options": "format --quiet REVISION_SCRIPT_FILENAME",
        }
        for name, value in hooks.items():
            config.set_section_option("post_write_hooks", name, value)
    config.attributes["owners"] = dict(where)
    return config


async def upgrade(
    target: str = "heads", *, url: str | URL | None = None, where: Mapping[str, Path] | None = None
) -> SchemaStatus:
    """Apply migrations up to ``target`` (default: every branch's head)."""
    from alembic import command

    await _run(lambda cfg: command.upgrade(cfg, target), url, where)
    return await current(url=url, where=where)


async def downgrade(
    target: str, *, url: str | URL | None = None, where: Mapping[str, Path] | None = None
) -> SchemaStatus:
    """Undo migrations down to ``target`` (``base``, ``sync@base``, ``-1``, a revision)."""
    from alembic import command

    await _run(lambda cfg: command.downgrade(cfg, target), url, where)
    return await current(url=url, where=where)


async def current(
    *, url: str | URL | None = None, where: Mapping[str, Path] | None = None
) -> SchemaStatus:
    """Compare the database's applied revisions with the scripts' heads."""
    from alembic.runtime.migration import MigrationContext
    from alembic.util.exc import CommandError

    where = dict(where or locations())
    script = _script(alembic_config(where))
    engine = get_engine(url)
    with translate_errors(engine.url, database_only=True):
        async with engine.connect() as conn:
            applied = await conn.run_sync(
                lambda c: tuple(MigrationContext.configure(c).get_current_heads())
            )
    heads: dict[str, str] = {}
    for head in script.get_heads():
        heads[_branch_of(script, head)] = head
    branches: dict[str, str | None] = dict.fromkeys(heads)
    unknown = []
    for rev in applied:
        try:
            branches[_branch_of(script, rev)] = rev
        except (CommandError, KeyError):
            unknown.append(rev)
    return SchemaStatus(
        url=redact(engine.url),
        applied=applied,
        heads=heads,
        branches=branches,
        unknown=tuple(unknown),
    )


async def revision(
    owner: str,
    message: str,
    *,
    autogenerate: bool = True,
    url: str | URL | None = None,
    where: Mapping[str, Path] | None = None,
) -> Path:
    """Write a new migration script for ``owner`` (``core`` or a domain); returns its path.

    The owner's first revision starts its branch. ``autogenerate`` compares the owner's models with
    the database (which must be at head) and writes the difference; otherwise the script is empty.
    """
    from alembic import command

    where = dict(where or locations())
    if owner not in where:
        installed = domains.installed()
        if owner not in installed:
            known = ", ".join(sorted({CORE, *installed}))
            raise MigrationError(f"unknown domain {owner!r}; known: {known}")
        where[owner] = package_dir(installed[owner]) / "migrations" / "versions"
    folder = where[owner]
    created = [p for p in (folder.parent, folder) if not p.exists()]
    folder.mkdir(parents=True, exist_ok=True)
    config = alembic_config(where)
    config.attributes["only_owner"] = owner
    script = _script(config)
    has_branch = any(_branch_of(script, h) == owner for h in script.get_heads())
    options: dict[str, Any] = {"message": message, "version_path": str(folder)}
    if has_branch:
        options["head"] = f"{owner}@head"
    else:
        options.update(head="base", branch_label=owner)

    def write(cfg: Config) -> Any:
        return command.revision(cfg, autogenerate=autogenerate, **options)

    try:
        if autogenerate:
            made = await _run(write, url, where, config=config)
        else:
            made = _plain(write, config)
    except BaseException:
        for path in reversed(created):  # leave no empty migrations folder behind
            with contextlib.suppress(OSError):
                path.rmdir()
        raise
    scripts = made if isinstance(made, list) else [made]
    return Path(scripts[0].path)


@contextlib.contextmanager
def _quiet_alembic() -> Iterator[None]:
    # Alembic announces its plugins and dialect at INFO on every run: noise in a worker's log.
    logger = logging.getLogger("alembic")
    level = logger.level
    logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        logger.setLevel(level)


def require_current_schema(
    url: str | URL | None = None, where: Mapping[str, Path] | None = None
) -> None:
    """Raise :class:`SchemaOutOfDate` unless every migration is applied."""

    async def check() -> SchemaStatus:
        try:
            return await current(url=url, where=where)
        finally:
            await dispose_engines()  # this loop ends here; the worker's engine is made anew

    with _quiet_alembic():
        _refuse(asyncio.run(check()))


def prepare_worker_schema(served: Iterable[str], url: str | URL | None = None) -> str:
    """Make the database fit a worker serving the ``served`` domains (see the module docs).

    Returns what happened, for the worker's log: ``"no tables"``, ``"current"`` or
    ``"migrated"``. Raises :class:`SchemaOutOfDate` when it cannot make the schema fit.
    """
    where = locations()
    needed = [CORE, *(d for d in served if d in where and d != CORE)]
    if len(needed) == 1:
        return "no tables"  # nothing served declares tables: no database at all
    resolved = database_url(url)

    async def prepare() -> str:
        try:
            status = await _quick_status(resolved, where, needed)
            if status.unknown or not status.behind:
                _refuse(status)
                return "current"
            if resolved.get_backend_name() != "sqlite":
                _refuse(status)
            with _quiet_alembic(), _file_lock(resolved):
                # Under the lock another worker may have migrated already: upgrade re-reads the
                # applied revisions, so it then does nothing.
                _refuse(await upgrade(url=resolved, where=where))
            log.info("migrated %s to the head of %s", status.url, ", ".join(status.behind))
            return "migrated"
        finally:
            await dispose_engines()  # this loop ends here; the worker's engine is made anew

    return asyncio.run(prepare())


async def _quick_status(url: URL, where: Mapping[str, Path], needed: list[str]) -> SchemaStatus:
    """The schema status from the scripts' text and one ``SELECT``; Alembic only as fallback."""
    graph = read_scripts(where)
    if graph is None:
        with _quiet_alembic():
            full = await current(url=url, where=where)
        heads = {b: h for b, h in full.heads.items() if b in needed}
        return SchemaStatus(full.url, full.applied, heads, full.branches, full.unknown)
    engine = get_engine(url)
    with translate_errors(engine.url, database_only=True):
        async with engine.connect() as conn:
            applied = await conn.run_sync(_applied_revisions)
    branches: dict[str, str | None] = {b: None for b in needed if b in graph.heads}
    for rev in applied:
        if rev in graph.owners:
            branches[graph.owners[rev]] = rev
    # One row per branch: when every served branch has a row these scripts know, the revisions
    # they do not know belong to domains this image does not install, not to a newer release.
    served_known = all(rev is not None for rev in branches.values())
    return SchemaStatus(
        url=redact(engine.url),
        applied=applied,
        heads={b: graph.heads[b] for b in needed if b in graph.heads},
        branches=branches,
        unknown=() if served_known else tuple(r for r in applied if r not in graph.owners),
    )


def _applied_revisions(conn: Connection) -> tuple[str, ...]:
    # Alembic's version table, read directly: one row per branch head reached.
    from sqlalchemy import inspect

    if not inspect(conn).has_table("alembic_version"):
        return ()
    return tuple(row[0] for row in conn.execute(text("SELECT version_num FROM alembic_version")))


@contextlib.contextmanager
def _file_lock(url: URL) -> Iterator[None]:
    """An exclusive lock beside the SQLite file for the length of a migration run."""
    if not url.database or url.database == ":memory:":
        yield
        return
    import fcntl

    path = Path(url.database)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.with_name(f"{path.name}.migrate-lock").open("a") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # released when the file is closed
        yield


def _refuse(status: SchemaStatus) -> None:
    if status.unknown:
        raise SchemaOutOfDate(
            f"database {status.url} has migration(s) {', '.join(status.unknown)} that this code "
            "does not know: it was migrated by a newer release. Deploy that release, or run "
            "`lanes db downgrade <revision>` with the newer code first."
        )
    if status.behind:
        detail = ", ".join(
            f"{b} at {status.branches.get(b) or 'nothing'} (head {status.heads[b]})"
            for b in status.behind
        )
        raise SchemaOutOfDate(
            f"database {status.url} schema is behind this code: {detail}. "
            "Run `lanes db upgrade` (in production, as its own step before starting workers)."
        )


def _branch_of(script: ScriptDirectory, rev: str) -> str:
    found = script.get_revision(rev)
    if found is None:
        raise KeyError(rev)
    labels = sorted(found.branch_labels)
    return labels[0] if labels else rev


def _script(config: Config) -> ScriptDirectory:
    from alembic.script import ScriptDirectory
    from alembic.util.exc import CommandError

    try:
        return ScriptDirectory.from_config(config)
    except CommandError as err:
        raise MigrationError(f"migration scripts are inconsistent: {err}") from None


def _plain(fn: Any, config: Config) -> Any:
    from alembic.util.exc import CommandError

    try:
        return fn(config)
    except CommandError as err:
        raise MigrationError(str(err)) from None


async def _run(
    fn: Any,
    url: str | URL | None,
    where: Mapping[str, Path] | None,
    *,
    config: Config | None = None,
) -> Any:
    from alembic.util.exc import CommandError

    config = config or alembic_config(dict(where or locations()))
    engine = get_engine(url)

    def in_connection(conn: Connection) -> Any:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _ADVISORY_LOCK_KEY})
        config.attributes["connection"] = conn
        try:
            return fn(config)
        except DBAPIError as err:
            if is_unavailable(err):
                raise
            # A migration's own SQL failed: say which database and why, without a traceback.
            detail = str(err.orig).strip().splitlines()[0] if err.orig is not None else str(err)
            undone = (
                "the whole run was rolled back"
                if conn.dialect.name == "postgresql"
                else "SQLite DDL is not transactional: see `lanes db current` for what was applied"
            )
            raise MigrationError(
                f"a migration failed on {redact(conn.engine.url)}: {detail} ({undone})"
            ) from None
        except CommandError as err:
            hint = ""
            if "not up to date" in str(err):
                hint = "; run `lanes db upgrade` first"
            raise MigrationError(f"{str(err).rstrip('.')}{hint}") from None

    with translate_errors(engine.url, database_only=True):
        async with engine.begin() as conn:
            return await conn.run_sync(in_connection)
