"""What a source hands the activity: rows to write, then the cursor to resume after them."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Batch", "Cursor"]

Cursor = dict[str, Any]
"""JSON-able resume point, sent with each heartbeat and stored on the sync run row.

Besides the source's position it carries what the repository row gets when the sync completes
(``head``; for APIs ``commits_etag``, ``pulls_etag``, ``pulls_updated_at``)."""


@dataclass
class Batch:
    """Rows of one page (API) or one batch of ``git log`` output, and where to resume after."""

    cursor: Cursor
    commits: list[dict[str, Any]] = field(default_factory=list)
    pulls: list[dict[str, Any]] = field(default_factory=list)
