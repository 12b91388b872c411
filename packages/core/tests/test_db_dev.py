"""`lanes dev` migrates its SQLite database before it starts the workers."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from pathlib import Path

import sqlalchemy as sa

from core.db import dispose_engines, get_engine
from core.devserver import free_port

LANES = str(Path(sys.executable).parent / "lanes")


async def test_lanes_dev_upgrades_the_database_before_serving(tmp_path: Path) -> None:
    env = dict(os.environ, LANES_HOME=str(tmp_path / "home"), LANES_HEALTH_PORT="0")
    env.pop("TEMPORAL_ADDRESS", None)
    env.pop("LANES_DATABASE_URL", None)
    dev = await asyncio.create_subprocess_exec(
        LANES,
        "dev",
        "--port",
        str(free_port()),
        "--ui-port",
        str(free_port()),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        start_new_session=True,  # its dev server child is in this group: one kill ends both
    )
    try:
        assert dev.stdout is not None
        seen = ""
        while "workers " not in seen:
            line = await asyncio.wait_for(dev.stdout.readline(), 90)
            assert line, f"lanes dev exited early: {seen}"
            seen += line.decode()
        dev.send_signal(signal.SIGINT)
        assert await asyncio.wait_for(dev.wait(), 60) == 0
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(dev.pid, signal.SIGKILL)

    database = tmp_path / "home" / "lanes.db"
    assert f"database         sqlite+aiosqlite:///{database}  (migrated to head)" in seen
    url = f"sqlite+aiosqlite:///{database}"
    try:
        async with get_engine(url).connect() as conn:
            names = await conn.run_sync(lambda c: sa.inspect(c).get_table_names())
    finally:
        await dispose_engines()
    assert "lanes_idempotency" in names
