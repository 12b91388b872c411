"""``sync_repository``: bring one repository's commits (and pull requests) into the database.

The activity is the unit of durability. It writes each batch (one ``git log`` chunk, one API page)
with an upsert in its own transaction, together with the run row's cursor, then heartbeats that
cursor. When a worker dies or an attempt fails, Temporal retries the activity and
``activity.info().heartbeat_details`` hands the next attempt the last cursor the server received:
it resumes there instead of starting over. Rows written after that heartbeat are written again,
harmlessly (upserts on the natural keys).

The repository's own state (last head, ETags) is only updated once the whole sync has completed,
so an interrupted sync never makes the next one skip data.

Every attempt updates one ``sync_runs`` row (keyed by workflow, run and activity id): status,
counts, cursor, and the error of a failed attempt — ``failed`` when no retry follows.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import AsyncGenerator
from contextlib import aclosing
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pydantic
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import activities, db
from sync.errors import GITHUB_SYNC
from sync.handoff import hand_off
from sync.settings import sync_settings
from sync.sources.batch import Batch, Cursor
from sync.sources.location import Location, locate

if TYPE_CHECKING:
    from sync.sources.github import GitHubApi

BODY = ("core.db.engine", "sync.store", "sync.sources.api", "sync.sources.git")
"""What the activity's body imports on its first job (SQLAlchemy, httpx), not at worker start."""

__all__ = ["SyncRepositoryInput", "SyncRepositoryResult", "sync_repository"]

log = logging.getLogger("sync.sync_repository")


class SyncRepositoryInput(pydantic.BaseModel):
    """Which repository to sync, and how."""

    url: str
    """A local git path or ``file://`` URL, ``https://github.com/<owner>/<name>``, or
    ``<api base>/repos/<owner>/<name>``. Registered on first sync."""
    full: bool = False
    """Read the whole history again instead of only what is new. Default: false."""
    run_key: str | None = None
    """Key of the ``sync_runs`` row. Default: ``<workflow id>/<run id>/<activity id>`` in a
    workflow, ``activity/<activity id>/<activity run id>`` as a standalone job."""


class SyncRepositoryResult(pydantic.BaseModel):
    """What one sync did (over all its attempts)."""

    repository_id: int
    url: str
    kind: str
    commits_inserted: int
    pulls_inserted: int
    pulls_updated: int
    head: str | None
    """Head commit after the sync."""
    attempt: int
    """The attempt that completed it."""
    resumed_from: dict[str, Any] | None
    """The heartbeat cursor this attempt started from; ``None`` when it started from scratch."""
    requests: int
    """HTTP requests this attempt sent (0 for git)."""
    not_modified: bool
    """Nothing new: the source had nothing after the last sync (API: answered 304)."""


@activities.defn(
    retry=GITHUB_SYNC, start_to_close=timedelta(hours=2), heartbeat=timedelta(seconds=30)
)
async def sync_repository(input: SyncRepositoryInput) -> SyncRepositoryResult:
    """Sync one repository, resuming from the last heartbeat's cursor on a retry."""
    info = activity.info()
    location = locate(input.url)
    run_key = input.run_key or _default_run_key(info)
    resume: Cursor | None = info.heartbeat_details[0] if info.heartbeat_details else None
    await activities.preload(*BODY)
    from sync import store
    from sync.sources.github import GitHubApi

    async with db.session() as s:
        repository = await store.register(s, location)
        known = store.known_state(repository)
        await store.start_run(s, run_key, repository.id, full=input.full, attempt=info.attempt)
        # Counts come from the run row, committed with the rows they count: the heartbeat may
        # lag a batch behind, and that batch, written again, no longer counts as inserted.
        counts = await store.run_counts(s, run_key) if resume else dict(_ZERO)
    log.info(
        "sync of %s (attempt %d) starts from %s",
        location.url,
        info.attempt,
        f"cursor {json.dumps(resume, sort_keys=True)}" if resume else "the beginning",
    )
    cursor: Cursor = resume or {}
    requests = 0
    try:
        settings = sync_settings()
        heartbeat = _Heartbeat()
        async with (
            GitHubApi(settings, heartbeat=heartbeat) as api,
            # Closed at once on an error: a git source stops its `git log` process.
            aclosing(_batches(location, api, known, input.full, resume)) as source,
            aclosing(_read_ahead(source)) as batches,
        ):
            async for batch in batches:
                async with db.session() as s:
                    added = await store.write_batch(s, repository.id, batch.commits, batch.pulls)
                    counts["commits"] += added[0]
                    counts["pulls"] += added[1]
                    counts["pulls_updated"] += added[2]
                    cursor = batch.cursor
                    await store.update_run(s, run_key, cursor=cursor, **_count_columns(counts))
                if settings.sync_analysis and (added[0] or input.full or info.attempt > 1):
                    # Before the heartbeat, and again on every retry: an attempt that wrote a
                    # batch and died before handing it over is resumed before that batch, which
                    # is then handed over (the job ids make a repeat a no-op). A full sync hands
                    # everything over: analysis's cache makes known commits free.
                    await hand_off(location.url, batch.commits, settings)
                heartbeat.cursor = cursor
                heartbeat()
            requests = api.requests
        async with db.session() as s:
            await store.save_repository_state(s, repository.id, cursor)
            await store.update_run(
                s,
                run_key,
                status="succeeded",
                finished_at=datetime.now(UTC),
                cursor=cursor,
                **_count_columns(counts),
            )
    except BaseException as err:
        await _record_failure(run_key, err, info)
        raise
    not_modified = counts["commits"] == 0 and counts["pulls"] + counts["pulls_updated"] == 0
    return SyncRepositoryResult(
        repository_id=repository.id,
        url=location.url,
        kind=location.kind,
        commits_inserted=counts["commits"],
        pulls_inserted=counts["pulls"],
        pulls_updated=counts["pulls_updated"],
        head=cursor.get("head"),
        attempt=info.attempt,
        resumed_from=resume,
        requests=requests,
        not_modified=not_modified,
    )


_ZERO = {"commits": 0, "pulls": 0, "pulls_updated": 0}


class _Heartbeat:
    """Heartbeats the latest cursor; also called while a rate limit is waited out."""

    def __init__(self) -> None:
        self.cursor: Cursor | None = None

    def __call__(self) -> None:
        if self.cursor is None:
            activity.heartbeat()
        else:
            activity.heartbeat(self.cursor)


async def _read_ahead(source: AsyncGenerator[Batch, None]) -> AsyncGenerator[Batch, None]:
    """Fetch the next batch while the current one is written: `git log` (or the next page's
    request) runs while the database works, instead of each waiting for the other."""
    pending = asyncio.ensure_future(anext(source))
    try:
        while True:
            try:
                batch = await pending
            except StopAsyncIteration:
                return
            pending = asyncio.ensure_future(anext(source))
            yield batch
    finally:
        if not pending.done():
            pending.cancel()
            with contextlib.suppress(BaseException):
                await pending


def _batches(
    location: Location,
    api: GitHubApi,
    known: dict[str, Any],
    full: bool,
    resume: Cursor | None,
) -> AsyncGenerator[Batch, None]:
    from sync.sources.api import api_batches  # preloaded by the activity
    from sync.sources.git import git_batches

    settings = sync_settings()
    if location.kind == "git":
        assert location.path is not None
        return git_batches(
            location.path,
            known_head=known["head"],
            full=full,
            resume=resume,
            batch_size=settings.sync_batch_size,
        )
    return api_batches(
        api,
        location.api_url(settings.github_api_url),
        known=known,
        full=full,
        resume=resume,
        page_size=settings.sync_page_size,
    )


def _count_columns(counts: dict[str, int]) -> dict[str, int]:
    return {
        "commits_inserted": counts["commits"],
        "pulls_inserted": counts["pulls"],
        "pulls_updated": counts["pulls_updated"],
    }


async def _record_failure(run_key: str, err: BaseException, info: activity.Info) -> None:
    policy = info.retry_policy
    final = (
        (isinstance(err, ApplicationError) and err.non_retryable)
        or (policy is not None and 0 < policy.maximum_attempts <= info.attempt)
        or (
            isinstance(err, ApplicationError)
            and policy is not None
            and err.type in (policy.non_retryable_error_types or ())
        )
    )
    message = (
        f"{type(err).__name__}: {err}"
        if not isinstance(err, ApplicationError)
        else (f"{err.type}: {err.message}")
    )
    try:
        await activities.preload(*BODY)
        from sync import store

        async with db.session() as s:
            await store.update_run(
                s,
                run_key,
                status="failed" if final else "retrying",
                error=message[:4000],
                finished_at=datetime.now(UTC) if final else None,
            )
    except Exception:  # the database may be what failed; the attempt's own error matters more
        log.warning("could not record the failure of sync run %s", run_key, exc_info=True)


def _default_run_key(info: activity.Info) -> str:
    # The same over retries of one execution, different for the next execution with the same id.
    if info.workflow_id is None:  # a standalone activity (a job dispatched without a workflow)
        return f"activity/{info.activity_id}/{info.activity_run_id}"
    return f"{info.workflow_id}/{info.workflow_run_id}/{info.activity_id}"
