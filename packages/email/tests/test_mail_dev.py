"""The embedded default: `lanes dev` runs the local SMTP sink, and `lanes mail outbox` shows
what the workers sent — no provider needed."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from core.dev.server import free_port

LANES = str(Path(sys.executable).with_name("lanes"))


async def lanes(*args: str, env: dict[str, str]) -> tuple[int, str]:
    proc = await asyncio.create_subprocess_exec(
        LANES, *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 60)
    return proc.returncode or 0, out.decode()


async def test_lanes_dev_keeps_sent_mail_in_the_outbox(
    tmp_path: Path, lanes_env: dict[str, str]
) -> None:
    port = free_port()
    env = {
        k: v
        for k, v in lanes_env.items()
        if not k.startswith(("TEMPORAL_", "LANES_SMTP", "LANES_MAIL")) and k != "LANES_DATABASE_URL"
    }
    env |= {"LANES_HOME": str(tmp_path / ".lanes"), "LANES_HEALTH_PORT": "0"}
    log_path = tmp_path / "dev.log"
    with log_path.open("wb") as log:
        dev = subprocess.Popen(
            [LANES, "dev", "--port", str(port), "--ui-port", str(free_port())],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + 120
        while "workers " not in log_path.read_text():
            assert dev.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            await asyncio.sleep(0.2)
        assert "mail (dev)       LANES_SMTP_URL=smtp://127.0.0.1:" in log_path.read_text()

        message = {
            "to": "newcomer@example.com",
            "idempotency_key": "dev-welcome",
            "template": "welcome",
            "context": {"name": "Newcomer", "login_url": "https://app.example/login"},
        }
        client_env = env | {"TEMPORAL_ADDRESS": f"127.0.0.1:{port}"}
        code, out = await lanes(
            "dispatch", "send_email", "--input", json.dumps(message), "--wait", env=client_env
        )
        assert code == 0 and '"sent"' in out, out + log_path.read_text()[-3000:]
        code, out = await lanes("mail", "outbox", env=client_env)
        assert code == 0, out
        assert "newcomer@example.com" in out and "Welcome to Lanes, Newcomer" in out
        [eml] = (tmp_path / ".lanes" / "mail").glob("*.eml")
        assert b"List-Unsubscribe:" in eml.read_bytes()
    finally:
        if dev.poll() is None:
            dev.send_signal(signal.SIGINT)
            try:
                await asyncio.to_thread(dev.wait, 60)
            except subprocess.TimeoutExpired:
                os.kill(dev.pid, signal.SIGKILL)
                dev.wait()
    assert dev.returncode == 0, log_path.read_text()[-3000:]
