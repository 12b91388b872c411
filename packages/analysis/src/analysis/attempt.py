"""What every analysis activity attempt needs: a heartbeat that runs on its own, and a buffer
that writes model calls and analyses in few transactions.

The heartbeat runs as a task beside the work, so an attempt waiting out a ``Retry-After`` (or
waiting for a concurrency slot) still reports that it is alive; a dead worker is noticed within
the heartbeat timeout and the attempt retried elsewhere.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any

from temporalio import activity

from analysis.analyzers.base import CallRecord
from analysis.schema import CommitData, CommitInsight
from core import activities, db

STORE = ("core.db.engine", "analysis.store")
"""What analysis's activities import on their first job (SQLAlchemy, the models), not at start."""

__all__ = ["Progress", "heartbeating"]

log = logging.getLogger("analysis.attempt")


@dataclass
class Progress:
    """Results of one attempt not yet written, and what it did so far."""

    analyzer: str
    prompt_version: str
    attempt: int = 1
    analysed: int = 0
    calls: int = 0
    pending: list[tuple[CommitData, CommitInsight]] = field(default_factory=list)
    pending_calls: list[CallRecord] = field(default_factory=list)
    _writing: asyncio.Lock = field(default_factory=asyncio.Lock)

    async def record(self, call: CallRecord) -> None:
        """Keep a model call for the next flush (the usage table)."""
        self.calls += 1
        self.pending_calls.append(call)

    async def add(self, data: CommitData, insight: CommitInsight, *, flush_at: int = 16) -> None:
        """Keep an analysis; write when ``flush_at`` are pending and no write is under way
        (one writer per attempt: concurrent transactions would only queue on the database)."""
        self.pending.append((data, insight))
        if len(self.pending) >= flush_at and not self._writing.locked():
            await self.flush()

    async def flush(self) -> None:
        """Write everything pending, one transaction at a time."""
        async with self._writing:
            while self.pending or self.pending_calls:
                analyses, calls = self.pending, self.pending_calls
                self.pending, self.pending_calls = [], []
                await activities.preload(*STORE)
                from analysis import store

                async with db.session() as s:
                    self.analysed += await store.save_commit_analyses(
                        s, analyses, self.analyzer, self.prompt_version
                    )
                    await store.record_calls(s, calls, self.attempt)

    def details(self) -> dict[str, Any]:
        return {"analysed": self.analysed + len(self.pending), "calls": self.calls}


@contextlib.asynccontextmanager
async def heartbeating(progress: Progress) -> AsyncIterator[None]:
    """Heartbeat ``progress`` every few seconds while the block runs (activities only)."""
    if not activity.in_activity():
        yield
        return
    timeout = activity.info().heartbeat_timeout
    every = min(5.0, timeout.total_seconds() / 3) if timeout else 5.0

    async def beat() -> None:
        while True:
            activity.heartbeat(progress.details())
            await asyncio.sleep(every)

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
