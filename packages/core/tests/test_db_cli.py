"""`lanes db ...` as a person runs it, on SQLite and PostgreSQL; the password never shows."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import make_url

from core.db import get_engine

LANES = str(Path(sys.executable).parent / "lanes")
PASSWORD = "pw-S3CRET-never-shown"


def with_password(url: str) -> str:
    """PostgreSQL with trust auth ignores a password, so tests can carry one to watch for."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return url
    return parsed.set(password=PASSWORD).render_as_string(hide_password=False)


async def lanes(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ, LANES_DATABASE_URL=url)
    done = await asyncio.to_thread(
        subprocess.run, [LANES, *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert PASSWORD not in done.stdout + done.stderr
    return done


async def tables(url: str) -> set[str]:
    async with get_engine(url).connect() as conn:
        return set(await conn.run_sync(lambda c: sa.inspect(c).get_table_names()))


async def test_lanes_db_upgrade_downgrade_base_upgrade_round_trips(database_url: str) -> None:
    url = with_password(database_url)

    before = await lanes(url, "db", "current")
    up = await lanes(url, "db", "upgrade")
    down = await lanes(url, "db", "downgrade", "base")
    gone = await tables(database_url)
    again = await lanes(url, "db", "upgrade")

    assert before.returncode == 1
    assert "behind" in before.stdout
    assert "run `lanes db upgrade`" in before.stderr
    assert up.returncode == 0, up.stderr
    assert "up to date" in up.stdout
    assert down.returncode == 0, down.stderr
    assert "lanes_idempotency" not in gone
    assert again.returncode == 0, again.stderr
    assert "lanes_idempotency" in await tables(database_url)


async def test_revision_for_an_unknown_domain_names_the_known_ones(database_url: str) -> None:
    done = await lanes(database_url, "db", "revision", "--domain", "nosuch", "-m", "x")
    assert done.returncode == 1
    assert "lanes: error: unknown domain 'nosuch'; known: analysis, core, email" in done.stderr


async def test_an_unreachable_database_is_one_line_without_the_password() -> None:
    url = f"postgresql://postgres:{PASSWORD}@127.0.0.1:9/test"  # port 9: nothing listens
    done = await lanes(url, "db", "upgrade")
    assert done.returncode == 1
    assert done.stderr.startswith("lanes: error: database postgresql+asyncpg://postgres:***@")
    assert "is unavailable (ConnectionRefusedError" in done.stderr
    assert "Traceback" not in done.stderr
