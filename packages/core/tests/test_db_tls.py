"""PostgreSQL TLS settings: libpq's sslmode works with asyncpg, and failures are one clear line."""

import asyncio
import sys
from pathlib import Path

import pytest
from sqlalchemy.engine import make_url

from core.db import DatabaseConfigError, database_url

LANES = str(Path(sys.executable).with_name("lanes"))


def test_sslmode_becomes_asyncpg_ssl() -> None:
    url = database_url("postgresql://app:pw@db:5432/lanes?sslmode=verify-full")
    assert url.drivername == "postgresql+asyncpg"
    assert dict(url.query) == {"ssl": "verify-full"}


def test_unusable_tls_settings_are_refused_with_what_to_do() -> None:
    with pytest.raises(DatabaseConfigError, match="sslmode='sometimes'; use one of disable"):
        database_url("postgresql://app@db/lanes?sslmode=sometimes")
    with pytest.raises(DatabaseConfigError, match=r"sslrootcert \(set PGSSLROOTCERT instead\)"):
        database_url("postgresql://app@db/lanes?sslmode=verify-ca&sslrootcert=/ca.pem")


async def lanes_db_upgrade(url: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        LANES,
        "db",
        "upgrade",
        env=env | {"LANES_DATABASE_URL": url},
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await asyncio.wait_for(proc.communicate(), timeout=60)
    return proc.returncode or 0, err.decode()


async def test_sslmode_against_the_real_postgresql(
    postgres_database_url: str, lanes_env: dict[str, str]
) -> None:
    base = make_url(postgres_database_url).set(drivername="postgresql")
    # prefer: TLS when the server offers it, plain otherwise; the migration runs either way.
    code, err = await lanes_db_upgrade(
        base.update_query_dict({"sslmode": "prefer"}).render_as_string(hide_password=False),
        lanes_env,
    )
    assert code == 0, err
    # require: works on a TLS server, otherwise one line that says TLS is the problem.
    code, err = await lanes_db_upgrade(
        base.set(password="hunter2-db")
        .update_query_dict({"sslmode": "require"})
        .render_as_string(hide_password=False),
        lanes_env,
    )
    assert "Traceback" not in err
    if code != 0:
        [line] = err.strip().splitlines()
        assert line.startswith("lanes: error: database postgresql+asyncpg://postgres:***@")
        assert "sslmode disagree about TLS" in line
        assert "hunter2-db" not in line
