"""From the shell: `lanes monitors add|list|history` and `lanes webhooks add|list`."""

from __future__ import annotations

import asyncio
import os
import sys
import uuid
from pathlib import Path

from operations_test_support import Answer, Receiver
from temporalio.client import Client

from core.dev.testing import running_worker
from operations.activities.uptime import ProcessDueChecksInput, process_due_checks

LANES = str(Path(sys.executable).parent / "lanes")


async def lanes(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        LANES,
        *args,
        env=dict(os.environ, LANES_LOG_LEVEL="WARNING"),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_monitors_add_list_history(sqlite_database: str, receiver: Receiver) -> None:
    receiver.routes["/up"] = Answer(200, "fine")
    receiver.routes["/down"] = Answer(500, "broken")
    code, _, err = await lanes("monitors", "add", "ftp://nope")
    assert code == 1
    assert "'ftp://nope' is not an http(s) URL" in err
    code, _, err = await lanes("monitors", "add", f"{receiver.url}/up", "--interval", "5")
    assert code == 1
    assert "the checks run every 60 s" in err
    for path in ("/up", "/down"):
        code, out, err = await lanes("monitors", "add", f"{receiver.url}{path}", "--threshold", "1")
        assert code == 0, err
    code, out, _ = await lanes("monitors", "list")
    assert [line.split()[1] for line in out.splitlines()[1:]] == ["unknown", "unknown"]

    result = await process_due_checks(ProcessDueChecksInput())  # what the schedule runs
    assert (result.checked, result.failed, len(result.opened)) == (2, 1, 1)

    code, out, err = await lanes("monitors", "list")
    assert code == 0, err
    up, down = (line.split() for line in out.splitlines()[1:])
    assert (up[1], up[3], up[4]) == ("up", "ms", "-")
    assert (down[1], down[4]) == ("down", f"#{result.opened[0]}")
    code, out, err = await lanes("monitors", "history", down[0])
    assert code == 0, err
    assert "FAIL HTTP 500, expected 200" in out
    assert f"incident #{result.opened[0]}" in out and "OPEN" in out
    code, _, err = await lanes("monitors", "history", "999")
    assert code == 1 and "no monitor 999" in err


async def test_webhooks_add_prints_a_secret_once(sqlite_database: str) -> None:
    code, out, err = await lanes("webhooks", "add", "https://hooks.example.com/in", "--event", "x")
    assert code == 0, err
    assert " secret whsec_" in out
    code, out, err = await lanes("webhooks", "list")
    assert "whsec_" not in out
    assert out.splitlines()[1].split() == ["1", "enabled", "x", "https://hooks.example.com/in"]


async def test_reminders_add_show_cancel(temporal_client: Client, sqlite_database: str) -> None:
    run = uuid.uuid4().hex[:8]
    code, _, err = await lanes("reminders", "add", f"r{run}", "x", "--at", "2027-01-01T09:00")
    assert code == 1 and "has no time zone" in err
    async with running_worker(temporal_client, "operations", task_queue="operations"):
        code, out, err = await lanes("reminders", "add", f"soon-{run}", "Stand-up", "--in", "1")
        assert code == 0, err
        assert out.startswith(f"reminder-soon-{run} due ")
        code, out, err = await lanes("reminders", "add", f"soon-{run}", "again", "--in", "1")
        assert code == 1 and "exists already" in err
        code, out, err = await lanes("reminders", "add", f"later-{run}", "Later", "--in", "3600")
        assert code == 0, err
        code, out, err = await lanes("reminders", "cancel", f"later-{run}")
        assert code == 0, err
        fired = await temporal_client.get_workflow_handle(f"reminder-soon-{run}").result()
        cancelled = await temporal_client.get_workflow_handle(f"reminder-later-{run}").result()
        code, out, err = await lanes("reminders", "show", f"soon-{run}")
    assert code == 0, err
    assert out.split()[0] == "fired"
    assert (fired["status"], cancelled["status"]) == ("fired", "cancelled")
