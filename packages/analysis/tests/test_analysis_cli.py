"""From the shell: `lanes dispatch analyze_commits ... --wait`, then `lanes analysis show`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from temporalio.client import Client

from core.dev.testing import running_worker

LANES = str(Path(sys.executable).parent / "lanes")
REPO = "https://github.com/acme/api"


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


def _commit(i: int, message: str, path: str) -> dict[str, object]:
    return {
        "repository": REPO,
        "sha": f"{i:040x}",
        "author_name": "Ada Lovelace",
        "author_email": "ada@example.com",
        "authored_at": f"2026-03-0{i}T10:00:00Z",
        "message": message,
        "paths": [path],
        "additions": 12,
        "deletions": 3,
    }


async def test_dispatch_then_show_from_the_shell(
    temporal_client: Client, sqlite_database: str, task_queue: str
) -> None:
    commits = [
        _commit(1, "feat(billing): invoices as PDF", "billing/pdf.py"),
        _commit(2, "fix: rounding of totals", "billing/totals.go"),
    ]
    async with running_worker(temporal_client, "analysis", task_queue=task_queue):
        code, out, err = await lanes(
            "dispatch",
            "analyze_commits",
            "--input",
            json.dumps({"commits": commits}),
            "--queue",
            task_queue,
            "--wait",
        )
        assert code == 0, err
        result = json.loads(out)["result"]
        assert (result["analyzer"], result["analysed"], result["model_calls"]) == ("builtin", 2, 0)

        code, out, err = await lanes("analysis", "show", "acme/api")  # a unique suffix will do
        assert code == 0, err
        assert f"{REPO}: 2 commits analysed (2 by builtin)" in out
        assert "invoices as PDF" in out and "rounding of totals" in out
        assert "Ada Lovelace <ada@example.com>" in out
        assert "Go 1" in out and "Python 1" in out  # the profile's languages

        code, out, err = await lanes("analysis", "show", "nowhere/else")
        assert code == 1
        assert "no analysed commits of 'nowhere/else'" in err
