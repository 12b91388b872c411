"""Secrets set in the environment stay out of every exit: CLI output, worker logs (DEBUG
included), exported spans, the history as its readers see it, and our tables.

The failing sync is a realistic leak: an API that answers 422 and echoes the request's
``Authorization`` header (and a card number) in its body, which the GitHub source puts into the
error message. The failing database connection is ``lanes db upgrade`` against a closed port with
a password in the URL.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import signal
import subprocess
import sys
from asyncio.subprocess import PIPE, STDOUT
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from aiohttp import web
from sqlalchemy.engine import make_url
from temporalio.client import ActivityFailureError, Client

from core.client import connect
from core.db import migrations
from core.dev.server import free_port
from core.settings import settings

BIN = Path(sys.executable).parent
CARD = "4111 1111 1111 1111"


@pytest.fixture
async def leaky_api() -> AsyncIterator[str]:
    async def answer(request: web.Request) -> web.Response:
        echoed = request.headers.get("Authorization", "")
        return web.Response(
            status=422, text=f"rejected header {echoed!r} for card {CARD}; try again"
        )

    app = web.Application()
    app.router.add_get("/{tail:.*}", answer)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    port = free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


async def test_secrets_appear_in_no_output_log_span_history_or_table(
    lanes_env: dict[str, str],
    postgres_database_url: str,
    leaky_api: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    token = "ghp_" + secrets.token_hex(18)
    db_password = "pw-" + secrets.token_hex(10)
    key = base64.b64encode(os.urandom(32)).decode()
    # Trust authentication ignores the password; it is in the URL like a production one.
    database = make_url(postgres_database_url).set(password=db_password)
    database_url = database.render_as_string(hide_password=False)
    await migrations.upgrade(url=database_url)
    env = lanes_env | {
        "LANES_DATABASE_URL": database_url,
        "LANES_GITHUB_API_URL": leaky_api,
        "LANES_GITHUB_TOKEN": token,
        "LANES_ENCRYPTION_KEYS": f"k1:{key}",
        "OTEL_TRACES_EXPORTER": "console",
        "LANES_LOG_LEVEL": "DEBUG",
        "LANES_LOG_FORMAT": "json",
    }
    leaks = {"token": token, "database password": db_password, "encryption key": key}

    log = tmp_path / "worker.log"
    with log.open("wb") as out:
        worker = subprocess.Popen([str(BIN / "sync-worker")], env=env, stdout=out, stderr=out)
    try:
        # Asynchronously: the loopback API answers from this process's event loop.
        cli = await run(
            "lanes",
            "dispatch",
            "sync_repository",
            "--input",
            json.dumps({"url": f"{leaky_api}/repos/acme/leaky"}),
            "--queue",
            "sync",
            "--wait",
            env=env,
        )
    finally:
        worker.send_signal(signal.SIGTERM)
        try:
            worker.wait(30)
        except subprocess.TimeoutExpired:
            worker.kill()
            worker.wait()
    code, cli_output = cli
    # The sync failed, and said why, without the credentials.
    assert code == 1, cli_output
    assert "GitHubRequestError" in cli_output and "422" in cli_output
    assert "[REDACTED]" in cli_output

    # The history, as someone holding the key reads it: the failure message is redacted at the
    # source (the activity), so decoding does not bring the token back.
    monkeypatch.setenv("LANES_ENCRYPTION_KEYS", f"k1:{key}")
    settings.cache_clear()
    try:
        client = await connect()
    finally:
        monkeypatch.delenv("LANES_ENCRYPTION_KEYS")
        settings.cache_clear()
    job_id = _job_id(cli_output)
    with pytest.raises(ActivityFailureError) as failed:
        await client.get_activity_handle(job_id).result()
    decoded = str(failed.value.cause)
    assert "422" in decoded
    # What the server holds for the job (a standalone activity: its description and last failure).
    raw = await Client.connect(lanes_env["TEMPORAL_ADDRESS"])
    described = await raw.get_activity_handle(job_id).describe()
    history = "\n".join(
        str(p) for p in (described.raw_info, described.raw_input, described.raw_outcome)
    )

    conn = await asyncpg.connect(
        database.set(drivername="postgresql").render_as_string(hide_password=False)
    )
    try:
        errors = [r["error"] for r in await conn.fetch("SELECT error FROM sync_runs")]
    finally:
        await conn.close()
    assert errors and all("422" in e for e in errors)

    worker_output = log.read_text()
    assert '"name": "RunActivity:sync_repository"' in worker_output  # spans were exported
    assert "activity finished" in worker_output

    # The failing database connection: one line naming the database, not the password.
    closed = database.set(port=free_port()).render_as_string(hide_password=False)
    db_code, db_output = await run(
        "lanes", "db", "upgrade", env=env | {"LANES_DATABASE_URL": closed}
    )
    assert db_code == 1
    assert "unavailable" in db_output

    exits = {
        "CLI output": cli_output,
        "worker log and spans": worker_output,
        "decoded failure": decoded,
        "stored history": history,
        "sync_runs.error": "\n".join(errors),
        "database CLI output": db_output,
    }
    for where, text in exits.items():
        for what, secret in leaks.items():
            assert secret not in text, f"the {what} leaked into the {where}"
        assert CARD not in text and CARD.replace(" ", "") not in text, where


async def run(*argv: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        str(BIN / argv[0]), *argv[1:], env=env, stdout=PIPE, stderr=STDOUT
    )
    output, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    return proc.returncode or 0, output.decode()


def _job_id(output: str) -> str:
    for word in output.replace("'", " ").replace('"', " ").split():
        if word.startswith("sync_repository-"):
            return word.rstrip(":,.")
    raise AssertionError(f"no job id in the CLI's output: {output}")
