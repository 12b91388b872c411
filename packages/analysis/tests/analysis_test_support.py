"""What the analysis tests share: waiting for hand-offs to land, and reading the tables."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from sqlalchemy import func, select
from temporalio.exceptions import ApplicationError

from analysis.models import CommitAnalysis, DeveloperProfile, ModelCall
from core import db

FAST_RETRY = {"retry_policy": {"name": "llm", "initial_interval": 1}}
"""LLM_RETRY with a 1 s first backoff: a retry that should not happen would, quickly."""


def application_error(err: BaseException) -> ApplicationError:
    """The activity's own error inside a failed job, whichever way dispatch reports the failure
    (a workflow failure chain, or a job error carrying ``cause``)."""
    seen: BaseException | None = err
    while seen is not None:
        if isinstance(seen, ApplicationError):
            return seen
        seen = getattr(seen, "cause", None) or seen.__cause__
    raise AssertionError(f"no ApplicationError in {err!r}")


async def rows(model: Any, *where: Any) -> list[Any]:
    async with db.session() as s:
        return list((await s.execute(select(model).where(*where).order_by(model.id))).scalars())


async def count(model: Any, *where: Any) -> int:
    async with db.session() as s:
        return int(await s.scalar(select(func.count()).select_from(model).where(*where)) or 0)


async def settled(repository: str, commits: int, timeout: float = 120.0) -> None:
    """Wait until ``commits`` analyses of ``repository`` exist and the profiles count them all
    (the hand-off jobs run on their own; this is the state a user would wait for)."""
    deadline = time.monotonic() + timeout
    while True:
        analysed = await count(CommitAnalysis, CommitAnalysis.repository == repository)
        async with db.session() as s:
            counted = int(await s.scalar(select(func.sum(DeveloperProfile.commits))) or 0)
        if analysed >= commits and counted >= commits:
            return
        if time.monotonic() > deadline:
            raise AssertionError(
                f"after {timeout}s: {analysed} of {commits} analysed, {counted} in profiles"
            )
        await asyncio.sleep(0.2)


__all__ = [
    "FAST_RETRY",
    "CommitAnalysis",
    "DeveloperProfile",
    "ModelCall",
    "application_error",
    "count",
    "rows",
]
