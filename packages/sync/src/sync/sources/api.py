"""Commits and pull requests of a GitHub-compatible API, page by page, resumable.

Each page (``per_page`` = ``LANES_SYNC_PAGE_SIZE``) is one batch; its cursor holds the ``Link:
rel="next"`` URL, so a retry continues with the page after the last one written.

**Commits** are listed newest first (``/commits``). A non-full sync sends the stored ETag with the
first page (``If-None-Match``): an unchanged repository answers 304 and nothing else is read. On a
200 it pages until it meets the head sha of the last completed sync. The list endpoint carries no
diff statistics on GitHub, so ``files_changed``/``additions``/``deletions`` stay empty unless the
API includes ``stats``/``files`` in list items (Gitea and Forgejo do); one extra request per
commit is not worth the rate limit.

**Pull requests** are listed by last update, newest first (``/pulls?state=all&sort=updated``),
conditionally as well; a non-full sync stops at the first one not updated since the last sync.

So an unchanged repository costs two conditional requests answered 304 (which GitHub does not
count against the rate limit) — one per collection.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import UTC, datetime
from typing import Any

import httpx

from sync.sources.batch import Batch, Cursor
from sync.sources.github import GitHubApi

__all__ = ["api_batches"]


async def api_batches(
    api: GitHubApi,
    repo_url: str,
    *,
    known: dict[str, Any],
    full: bool,
    resume: Cursor | None,
    page_size: int,
) -> AsyncGenerator[Batch, None]:
    """Yield one batch per page: commits first, then pull requests.

    ``known`` is what the last completed sync stored: ``head``, ``commits_etag``, ``pulls_etag``,
    ``pulls_updated_at`` (ISO string or None).
    """
    if resume and resume.get("source") == "api":
        cursor = dict(resume)
    else:
        cursor = {
            "source": "api",
            "phase": "commits",
            "next": None,
            "head": known.get("head"),
            "commits_etag": known.get("commits_etag"),
            "pulls_etag": known.get("pulls_etag"),
            "pulls_updated_at": known.get("pulls_updated_at"),
            "pages": 0,
        }
    # What an incremental sync stops at: fixed at the start, not moved by this sync's progress.
    stop_sha = None if full else known.get("head")
    stop_updated = None if full else known.get("pulls_updated_at")

    if cursor["phase"] == "commits":
        async for batch in _commits(api, repo_url, cursor, full, stop_sha, page_size):
            cursor = batch.cursor
            yield batch
        cursor = {**cursor, "phase": "pulls", "next": None}
    if cursor["phase"] == "pulls":
        async for batch in _pulls(api, repo_url, cursor, full, stop_updated, page_size):
            cursor = batch.cursor
            yield batch
    yield Batch(cursor={**cursor, "phase": "done", "next": None})


async def _commits(
    api: GitHubApi,
    repo_url: str,
    cursor: Cursor,
    full: bool,
    stop_sha: str | None,
    page_size: int,
) -> AsyncGenerator[Batch, None]:
    url = cursor["next"]
    first = url is None
    while True:
        if first:
            response = await api.get(
                f"{repo_url}/commits",
                params={"per_page": page_size},
                etag=None if full else cursor["commits_etag"],
                empty_ok=True,
            )
            if response.status_code == 304:
                return
            if response.status_code == 409:  # an empty repository has no commits yet
                yield Batch(cursor={**cursor, "head": None, "commits_etag": None})
                return
        else:
            response = await api.get(url)
        items: list[dict[str, Any]] = response.json()
        rows, reached = [], False
        for item in items:
            if item["sha"] == stop_sha:
                reached = True
                break
            rows.append(_commit_row(item))
        cursor = {**cursor, "pages": cursor["pages"] + 1, "next": _next(response)}
        if first:
            cursor["commits_etag"] = response.headers.get("etag")
            cursor["head"] = items[0]["sha"] if items else None
            first = False
        if reached:
            cursor["next"] = None
        yield Batch(cursor=cursor, commits=rows)
        if cursor["next"] is None:
            return
        url = cursor["next"]


async def _pulls(
    api: GitHubApi,
    repo_url: str,
    cursor: Cursor,
    full: bool,
    stop_updated: str | None,
    page_size: int,
) -> AsyncGenerator[Batch, None]:
    url = cursor["next"]
    first = url is None
    stop = _time(stop_updated) if stop_updated else None
    while True:
        if first:
            response = await api.get(
                f"{repo_url}/pulls",
                params={
                    "state": "all",
                    "sort": "updated",
                    "direction": "desc",
                    "per_page": page_size,
                },
                etag=None if full else cursor["pulls_etag"],
            )
            if response.status_code == 304:
                return
        else:
            response = await api.get(url)
        items: list[dict[str, Any]] = response.json()
        rows, reached = [], False
        for item in items:
            row = _pull_row(item)
            # Strictly older: one updated in the same second as the last sync is written again.
            if stop is not None and row["updated_at"] < stop:
                reached = True
                break
            rows.append(row)
        cursor = {**cursor, "pages": cursor["pages"] + 1, "next": _next(response)}
        if first:
            cursor["pulls_etag"] = response.headers.get("etag")
            if rows:
                cursor["pulls_updated_at"] = rows[0]["updated_at"].isoformat()
            first = False
        if reached:
            cursor["next"] = None
        yield Batch(cursor=cursor, pulls=rows)
        if cursor["next"] is None:
            return
        url = cursor["next"]


def _next(response: httpx.Response) -> str | None:
    link = response.links.get("next")
    return link.get("url") if link else None


def _commit_row(item: dict[str, Any]) -> dict[str, Any]:
    commit = item["commit"]
    author, committer = commit.get("author") or {}, commit.get("committer") or {}
    stats, files = item.get("stats"), item.get("files")
    return {
        "sha": item["sha"],
        "author_name": author.get("name") or "",
        "author_email": author.get("email") or "",
        "authored_at": _time(author.get("date") or committer["date"]),
        "committed_at": _time(committer.get("date") or author["date"]),
        "message": commit.get("message") or "",
        "files_changed": len(files) if isinstance(files, list) else None,
        "additions": stats.get("additions") if isinstance(stats, dict) else None,
        "deletions": stats.get("deletions") if isinstance(stats, dict) else None,
    }


def _pull_row(item: dict[str, Any]) -> dict[str, Any]:
    merged = item.get("merged_at")
    return {
        "number": item["number"],
        "title": item.get("title") or "",
        "state": "merged" if merged else item["state"],
        "author": (item.get("user") or {}).get("login"),
        "created_at": _time(item["created_at"]),
        "updated_at": _time(item["updated_at"]),
        "merged_at": _time(merged) if merged else None,
    }


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)
