"""Pytest fixtures for code that uses the database, on SQLite and on a real PostgreSQL.

Loaded with :mod:`core.dev.testing` wherever ``lanes-core``, pytest and pytest-asyncio are
installed (through the ``pytest11`` entry point :mod:`core.dev.pytest_plugin`).

- ``database_url``: a fresh, empty database per test, **parametrized**: every test that uses it
  runs twice, on a SQLite file and on PostgreSQL (a database of its own, created on the server at
  ``LANES_TEST_POSTGRES_URL``, default ``postgresql://postgres@127.0.0.1:5432/test``, and dropped
  afterwards), so tests never collide with each other or with other people's runs on the same
  server. Without PostgreSQL the PostgreSQL half is skipped with the reason — except under
  ``CI=true``, where it fails: CI must never pass by skipping half the suite.
- ``postgres_database_url``: a fresh PostgreSQL database alone, for PostgreSQL-only tests.
- ``migrated_database_url``: the same, migrated to every branch's head.
- ``lanes_database``: ``migrated_database_url`` made the process's ``LANES_DATABASE_URL``, for
  in-process workers whose activities call ``core.db.session()``.
- ``worker_database_url`` (session): a migrated SQLite file for worker subprocesses;
  ``lanes_env`` carries it, so a worker subprocess passes its schema check.

And :class:`TcpProxy`, a loopback proxy a test can cut and restore to make a server unreachable.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import os
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]  # asyncpg ships no type information
import pytest
import pytest_asyncio
from sqlalchemy.engine import URL, make_url

from core.db import migrations
from core.db.engine import dispose_engines
from core.settings import settings

__all__ = ["TcpProxy", "postgres_admin_url"]

DEFAULT_TEST_POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/test"


def postgres_admin_url() -> URL:
    """The PostgreSQL tests create their databases on (``LANES_TEST_POSTGRES_URL``)."""
    return make_url(os.environ.get("LANES_TEST_POSTGRES_URL", DEFAULT_TEST_POSTGRES_URL))


def _dsn(url: URL) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


@pytest.fixture(scope="session")
def postgres_admin() -> URL:
    """The reachable test PostgreSQL; skips (fails under ``CI=true``) when it is not."""
    url = postgres_admin_url()

    async def probe() -> None:
        conn = await asyncpg.connect(_dsn(url), timeout=5)
        await conn.close()

    try:
        # A thread of its own: this may be asked for from inside the session's running loop.
        with concurrent.futures.ThreadPoolExecutor(1) as pool:
            pool.submit(asyncio.run, probe()).result()
    except (OSError, asyncpg.PostgresError, TimeoutError) as err:
        problem: str | None = str(err) or type(err).__name__
    else:
        problem = None
    if problem is not None:
        reason = (
            f"PostgreSQL at {url.render_as_string(hide_password=True)} is unreachable ({problem}); "
            "start it or set LANES_TEST_POSTGRES_URL"
        )
        if _in_ci():
            pytest.fail(f"{reason}. Under CI=true this fails instead of skipping.", pytrace=False)
        pytest.skip(f"SKIPPING POSTGRESQL HALF: {reason}")
    return url


@pytest_asyncio.fixture(params=["sqlite", "postgresql"], loop_scope="session")
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty database: once a SQLite file, once a PostgreSQL database of its own."""
    if request.param == "postgresql":
        async with _postgres_database(request.getfixturevalue("postgres_admin")) as url:
            yield url
        return
    try:
        yield f"sqlite+aiosqlite:///{tmp_path / 'lanes.db'}"
    finally:
        await dispose_engines()


@pytest_asyncio.fixture(loop_scope="session")
async def postgres_database_url(postgres_admin: URL) -> AsyncIterator[str]:
    """A fresh, empty PostgreSQL database, for tests about PostgreSQL alone."""
    async with _postgres_database(postgres_admin) as url:
        yield url


@contextlib.asynccontextmanager
async def _postgres_database(admin: URL) -> AsyncIterator[str]:
    # A database per test: nothing to clean up between tests, nothing shared with other runs.
    name = f"lanes_test_{os.getpid()}_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(_dsn(admin), timeout=10)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    try:
        yield admin.set(drivername="postgresql+asyncpg", database=name).render_as_string(
            hide_password=False
        )
    finally:
        await dispose_engines()
        conn = await asyncpg.connect(_dsn(admin), timeout=10)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()


@pytest_asyncio.fixture(loop_scope="session")
async def migrated_database_url(database_url: str) -> str:
    """:func:`database_url` with every installed branch migrated to its head."""
    await migrations.upgrade(url=database_url)
    return database_url


@pytest.fixture
def lanes_database(migrated_database_url: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """The migrated test database as this process's ``LANES_DATABASE_URL``."""
    monkeypatch.setenv("LANES_DATABASE_URL", migrated_database_url)
    settings.cache_clear()
    yield migrated_database_url
    monkeypatch.undo()
    settings.cache_clear()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def worker_database_url(
    tmp_path_factory: pytest.TempPathFactory,
) -> AsyncIterator[str]:
    """A migrated SQLite file that worker subprocesses (``lanes_env``) use."""
    path = tmp_path_factory.mktemp("lanes-db") / "lanes.db"
    url = f"sqlite+aiosqlite:///{path}"
    await migrations.upgrade(url=url)
    await dispose_engines()
    yield url


class TcpProxy:
    """A loopback TCP proxy to ``target``; :meth:`cut` drops every connection and refuses new
    ones until :meth:`restore`, the way a database behind a failed network looks."""

    def __init__(self, target_host: str, target_port: int) -> None:
        self.target = (target_host, target_port)
        self.port = 0
        self._server: asyncio.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    async def start(self) -> int:
        """Listen (on the same port as before, once one was picked) and return the port."""
        self._server = await asyncio.start_server(self._handle, "127.0.0.1", self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        return self.port

    async def cut(self) -> None:
        """Stop listening and reset every open connection."""
        server, self._server = self._server, None
        if server is not None:
            server.close()
        # Connections first: since Python 3.12 `wait_closed` waits for them to end.
        for writer in list(self._writers):
            writer.transport.abort()
        self._writers.clear()
        if server is not None:
            await server.wait_closed()

    async def restore(self) -> None:
        """Accept connections again, on the same port."""
        await self.start()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.transport.abort()
            return
        self._writers.update((writer, up_writer))
        await asyncio.gather(
            self._pipe(reader, up_writer), self._pipe(up_reader, writer), return_exceptions=True
        )

    async def _pipe(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        finally:
            self._writers.discard(writer)
            writer.transport.abort()
