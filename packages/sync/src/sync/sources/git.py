"""Commits of a local git repository, read with ``git log`` in batches that can be resumed.

One ``git log --reverse --topo-order --numstat`` streams the commits oldest first, in a
machine-readable format (fields split by ``\\x1f``, records by ``\\x1e``), parsed as the output
arrives so memory stays flat on large histories.

**Resuming.** The head is resolved once and kept in the cursor with the last commit written
(``after``). A retry reads ``<after>..<head>``: in topological order no ancestor of ``after``
comes after it, so nothing is skipped; side-branch commits already written may be read again and
are upserted as no-ops.

**Incremental.** A non-full sync reads ``<last synced head>..<head>`` — only commits not stored
yet. When that sha no longer exists (history rewritten) it falls back to a full read.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sync.errors import not_found
from sync.sources.batch import Batch, Cursor

__all__ = ["git_batches", "numstat_paths", "parse_numstat"]

_FORMAT = "%x1e%H%x1f%an%x1f%ae%x1f%aI%x1f%cI%x1f%B%x1f"
# Quiet, stable output whatever the user's git config says.
_GIT = ("git", "-c", "log.showSignature=false", "-c", "core.quotepath=off", "--no-pager")


async def _git(path: Path, *args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        *_GIT,
        "-C",
        str(path),
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await proc.communicate()
    assert proc.returncode is not None
    return proc.returncode, out.decode(errors="replace").strip(), err.decode(errors="replace")


async def _head(path: Path) -> str | None:
    if not await asyncio.to_thread(path.exists):
        raise not_found(f"git repository {path} does not exist")
    code, _, err = await _git(path, "rev-parse", "--git-dir")
    if code != 0:
        raise not_found(f"{path} is not a git repository: {err.strip()}")
    code, out, _ = await _git(path, "rev-parse", "--verify", "--quiet", "HEAD^{commit}")
    return out if code == 0 and out else None  # None: a repository without commits yet


async def _exists(path: Path, sha: str) -> bool:
    code, _, _ = await _git(path, "cat-file", "-e", f"{sha}^{{commit}}")
    return code == 0


async def git_batches(
    path: Path, *, known_head: str | None, full: bool, resume: Cursor | None, batch_size: int
) -> AsyncGenerator[Batch, None]:
    """Yield the commits to write, ``batch_size`` at a time, each with its resume cursor."""
    if resume and resume.get("source") == "git":
        cursor = dict(resume)
    else:
        head = await _head(path)
        base = known_head if not full and known_head and await _exists(path, known_head) else None
        cursor = {"source": "git", "head": head, "base": base, "after": None}
    head, start = cursor["head"], cursor["after"] or cursor["base"]
    if head is None or start == head:
        yield Batch(cursor=cursor)
        return
    rev_range = f"{start}..{head}" if start else head
    batch: list[dict[str, Any]] = []
    async with aclosing(_log(path, rev_range)) as commits:
        async for commit in commits:
            batch.append(commit)
            if len(batch) >= batch_size:
                cursor = {**cursor, "after": batch[-1]["sha"]}
                yield Batch(cursor=cursor, commits=batch)
                batch = []
    yield Batch(
        cursor={**cursor, "after": batch[-1]["sha"] if batch else cursor["after"]}, commits=batch
    )


async def _log(path: Path, rev_range: str) -> AsyncGenerator[dict[str, Any], None]:
    proc = await asyncio.create_subprocess_exec(
        *_GIT,
        "-C",
        str(path),
        "log",
        "--reverse",
        "--topo-order",
        "--numstat",
        "--find-renames",
        "--no-color",
        f"--format={_FORMAT}",
        rev_range,
        "--",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None and proc.stderr is not None
    stderr_task = asyncio.ensure_future(proc.stderr.read())
    try:
        pending = b""
        while chunk := await proc.stdout.read(1 << 16):
            pending += chunk
            *records, pending = pending.split(b"\x1e")
            for record in records:
                if record.strip():
                    yield _parse(record)
        if pending.strip():
            yield _parse(pending)
        code = await proc.wait()
        err = (await stderr_task).decode(errors="replace").strip()
        if code != 0:
            raise RuntimeError(f"git log {rev_range} in {path} failed (exit {code}): {err}")
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        stderr_task.cancel()


def _parse(record: bytes) -> dict[str, Any]:
    sha, name, email, authored, committed, message, stats = record.decode(errors="replace").split(
        "\x1f", 6
    )
    files, additions, deletions = parse_numstat(stats)
    return {
        "sha": sha,
        "author_name": name,
        "author_email": email,
        "authored_at": _utc(authored),
        "committed_at": _utc(committed),
        "message": message.rstrip("\n"),
        "files_changed": files,
        "additions": additions,
        "deletions": deletions,
        # Not a column: handed to analysis (see sync.handoff), dropped before the upsert.
        "paths": numstat_paths(stats),
    }


def parse_numstat(text: str) -> tuple[int, int, int]:
    """Files, added and deleted lines from ``--numstat`` lines (binary files count as 0 lines)."""
    files = additions = deletions = 0
    for line in text.splitlines():
        fields = line.split("\t", 2)
        if len(fields) != 3:
            continue
        files += 1
        additions += int(fields[0]) if fields[0].isdigit() else 0
        deletions += int(fields[1]) if fields[1].isdigit() else 0
    return files, additions, deletions


_RENAME = re.compile(r"\{[^{}]* => ([^{}]*)\}")


def numstat_paths(text: str) -> list[str]:
    """Paths of ``--numstat`` lines, a rename as its new path (``a/{x => y}/f`` → ``a/y/f``)."""
    paths = []
    for line in text.splitlines():
        fields = line.split("\t", 2)
        if len(fields) != 3:
            continue
        path = _RENAME.sub(r"\1", fields[2])
        if " => " in path:
            path = path.split(" => ", 1)[1]
        paths.append(path.replace("//", "/"))
    return paths


def _utc(iso: str) -> datetime:
    return datetime.fromisoformat(iso).astimezone(UTC)
