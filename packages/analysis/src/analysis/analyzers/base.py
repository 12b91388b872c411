"""The one interface both analyzers implement, and what a model call reports."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Protocol

from analysis.schema import CommitData, CommitInsight, PullRequestData, PullRequestInsight

__all__ = ["Analyzer", "CallRecord", "CallRecorder"]


@dataclass(frozen=True)
class CallRecord:
    """One model request, as the usage table stores it."""

    model: str
    subject: str
    outcome: str
    latency_ms: int
    input_tokens: int = 0
    output_tokens: int = 0
    status_code: int | None = None
    error: str | None = None


CallRecorder = Callable[[CallRecord], Awaitable[None]]
"""Stores a :class:`CallRecord` (the activity passes one that writes the usage table)."""


class Analyzer(Protocol):
    """Turns commit and pull-request data into insights."""

    @property
    def name(self) -> str:
        """Stored with every row it produces: ``builtin`` or ``llm:<model>``."""
        ...

    @property
    def prompt_version(self) -> str:
        """Part of the cache key: a new prompt (or new rules) analyses everything again."""
        ...

    @property
    def model(self) -> str | None:
        """The model it calls, or ``None`` when it calls none."""
        ...

    async def commit(self, data: CommitData, record: CallRecorder) -> CommitInsight:
        """Analyse one commit; model calls are reported to ``record``."""
        ...

    async def pull_request(self, data: PullRequestData, record: CallRecorder) -> PullRequestInsight:
        """Analyse one pull request; model calls are reported to ``record``."""
        ...
