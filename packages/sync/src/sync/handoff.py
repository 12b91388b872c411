"""The hand-off to the analysis domain: commits a sync inserted, dispatched by name and queue.

Sync does not import analysis (domains never import each other): it dispatches the registered
activity ``analyze_commits`` on queue ``analysis`` (``LANES_SYNC_ANALYSIS_QUEUE``) with each
commit's facts by value — what any other service would send. Jobs hold at most
``LANES_SYNC_ANALYSIS_BATCH_SIZE`` commits (default 50). A job's id is derived from its commits
(``analyze-<repository hash>-<first>-<last>-<n>``), so a sync attempt that is retried and hands
the same commits over again starts nothing new. ``LANES_SYNC_ANALYSIS=false`` turns it off.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from typing import Any

from core.dispatch import dispatch
from sync.settings import SyncSettings

__all__ = ["ANALYSIS_ACTIVITY", "hand_off"]

ANALYSIS_ACTIVITY = "analyze_commits"
_MAX_MESSAGE = 4000
_MAX_PATHS = 200


async def hand_off(
    repository: str, commits: Sequence[dict[str, Any]], settings: SyncSettings
) -> int:
    """Dispatch ``commits`` (rows as the sources yield them) for analysis; returns jobs started."""
    batch_size = settings.sync_analysis_batch_size
    digest = hashlib.sha256(repository.encode()).hexdigest()[:12]
    started = 0
    for start in range(0, len(commits), batch_size):
        chunk = commits[start : start + batch_size]
        job = await dispatch(
            ANALYSIS_ACTIVITY,
            {"commits": [_facts(repository, c) for c in chunk]},
            task_queue=settings.sync_analysis_queue,
            id=f"analyze-{digest}-{chunk[0]['sha'][:12]}-{chunk[-1]['sha'][:12]}-{len(chunk)}",
        )
        started += job.started
    return started


def _facts(repository: str, commit: dict[str, Any]) -> dict[str, Any]:
    return {
        "repository": repository,
        "sha": commit["sha"],
        "author_name": commit["author_name"],
        "author_email": commit["author_email"] or commit["author_name"] or "unknown",
        "authored_at": commit["authored_at"].isoformat(),
        # Bounded, so a batch stays far below the server's payload limit whatever the history
        # holds (analysis reads no more than this either).
        "message": commit["message"][:_MAX_MESSAGE],
        "paths": commit.get("paths", [])[:_MAX_PATHS],
        "additions": commit.get("additions"),
        "deletions": commit.get("deletions"),
        "files_changed": commit.get("files_changed"),
    }
