"""From the shell: `lanes dispatch sync_repository ... --wait` and `lanes repos add|list|sync`."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

from sync_test_git import make_repo
from temporalio.client import Client

from core.dev.testing import running_worker

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


async def test_dispatch_then_repos_list_and_sync_from_the_shell(
    temporal_client: Client, sqlite_database: str, tmp_path: Path
) -> None:
    repo = make_repo(tmp_path / "app", 25)
    async with running_worker(temporal_client, "sync", task_queue="sync"):
        code, out, err = await lanes(
            "dispatch", "sync_repository", "--input", json.dumps({"url": str(repo)}), "--wait"
        )
        assert code == 0, err
        result = json.loads(out)["result"]
        assert (result["commits_inserted"], result["kind"]) == (25, "git")

        code, out, err = await lanes("repos", "list")
        assert code == 0, err
        [_header, row] = out.splitlines()
        assert row.split()[:3] == [str(result["repository_id"]), "git", "25"]
        assert row.endswith(repo.as_uri())

        code, out, err = await lanes("repos", "sync", str(repo), "--wait")
        assert code == 0, err
        assert out.startswith(f"started sync-repo-{result['repository_id']}")
        assert json.loads(out.split("\n", 1)[1])["commits_inserted"] == 0


async def test_repos_add_registers_valid_urls_and_names_a_bad_one(
    sqlite_database: str, tmp_path: Path
) -> None:
    code, _, err = await lanes("repos", "add", str(tmp_path), "gopher://old/thing")
    assert code == 1
    assert "lanes: error: cannot sync 'gopher://old/thing': scheme 'gopher' is not supported" in err
    code, out, err = await lanes("repos", "add", str(tmp_path), "https://github.com/acme/api")
    assert code == 0, err
    assert [line.split()[1:] for line in out.splitlines()] == [
        ["git", tmp_path.as_uri()],
        ["api", "https://github.com/acme/api"],
    ]
