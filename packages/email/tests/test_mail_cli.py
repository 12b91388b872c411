"""`lanes mail ...` from the shell: clear errors for bad input, and what a person sees."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest_asyncio

LANES = str(Path(sys.executable).with_name("lanes"))


async def lanes(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        LANES, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


@pytest_asyncio.fixture(loop_scope="session")
async def cli_env(tmp_path: Path, lanes_env: dict[str, str]) -> AsyncIterator[dict[str, str]]:
    """A fresh migrated SQLite file and an empty outbox for the shell."""
    from core.db import dispose_engines, migrations

    url = f"sqlite+aiosqlite:///{tmp_path / 'lanes.db'}"
    await migrations.upgrade(url=url)
    await dispose_engines()
    yield lanes_env | {"LANES_DATABASE_URL": url, "LANES_MAIL_DIR": str(tmp_path / "outbox")}


async def test_campaign_create_refuses_bad_input_and_warming_shows_the_limit(
    cli_env: dict[str, str], tmp_path: Path
) -> None:
    readers = tmp_path / "readers.txt"
    readers.write_text("ada@example.com,Ada\nnot-an-address\n")
    create = [
        "mail", "campaign", "create", "news", "--recipients", str(readers),
        "--template", "newsletter", "--context", '{"title": "News", "paragraphs": ["Hi."]}',
    ]  # fmt: skip
    code, out = await lanes(*create, env=cli_env)
    assert code == 1 and "lanes: error: invalid recipient address 'not-an-address'" in out

    readers.write_text("ada@example.com,Ada\n# a comment\nbob@example.com\n")
    code, out = await lanes(*create[:-2], "--context", '{"title": "News"}', env=cli_env)
    assert code == 1 and "paragraphs" in out, out
    code, out = await lanes(*create, env=cli_env)
    assert (code, out.strip()) == (0, "campaign 1 created with 2 recipient line(s)")

    code, out = await lanes("mail", "domain", "warm", "News.Example", env=cli_env)
    assert (code, out.strip()) == (0, "news.example: step 0, daily limit 50")
    code, out = await lanes("mail", "domain", "list", env=cli_env)
    assert code == 0 and "news.example" in out and " 50 " in out

    code, out = await lanes("mail", "campaign", "status", "77", env=cli_env)
    assert code == 1 and "campaign 77 has not been started" in out, out
    code, out = await lanes("mail", "campaign", "start", "77", env=cli_env)
    assert code == 1 and "no campaign 77" in out, out


async def test_suppression_and_an_empty_outbox(cli_env: dict[str, str]) -> None:
    code, out = await lanes("mail", "suppress", "Ada@Example.com", "--reason", "unsubscribed",
                            env=cli_env)  # fmt: skip
    assert (code, out.strip()) == (0, "suppressed 1 address(es)")
    code, out = await lanes("mail", "unsuppress", "bob@example.com", env=cli_env)
    assert code == 1 and "bob@example.com is not on the suppression list" in out
    code, out = await lanes("mail", "outbox", env=cli_env)
    assert code == 0 and out.startswith("no messages in")
