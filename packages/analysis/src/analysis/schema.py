"""What analysis reads and writes, as pydantic models (workflow-safe: no I/O at import).

Inputs are passed **by value**: any service (sync's hand-off, a script, the shell) sends a
commit's facts in :class:`CommitData`; analysis never reads another domain's tables.
Both analyzers (the built-in heuristics and the LLM) fill the same outputs,
:class:`CommitInsight` and :class:`PullRequestInsight`, and the table rows say which produced them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

import pydantic

__all__ = [
    "CommitData",
    "CommitInsight",
    "Kind",
    "PullRequestData",
    "PullRequestInsight",
    "Risk",
    "Size",
]

Kind = Literal[
    "feat", "fix", "docs", "style", "refactor", "perf", "test", "build", "ci", "chore", "revert"
]
"""Kind of work, in Conventional Commits' words."""
Size = Literal["tiny", "small", "medium", "large", "huge"]
Risk = Literal["low", "medium", "high"]


class CommitData(pydantic.BaseModel):
    """One commit as analysis needs it."""

    repository: str = pydantic.Field(min_length=1, max_length=2000)
    """The repository's URL as its owner names it (sync: the normalised URL)."""
    sha: str = pydantic.Field(min_length=4, max_length=64)
    author_name: str = ""
    author_email: str = pydantic.Field(min_length=1, max_length=500)
    """Whose profile the commit counts towards."""
    authored_at: datetime
    message: str
    paths: list[str] = pydantic.Field(default_factory=list)
    """Paths the commit touched (empty when the source does not say, e.g. GitHub's list API)."""
    additions: int | None = None
    deletions: int | None = None
    files_changed: int | None = None
    """Files touched; default: ``len(paths)``."""


class CommitInsight(pydantic.BaseModel):
    """What an analyzer says about one commit."""

    kind: Kind = pydantic.Field(description="Kind of work (Conventional Commits type).")
    summary: str = pydantic.Field(
        min_length=1, max_length=300, description="One line: what changed and why."
    )
    areas: list[str] = pydantic.Field(
        default_factory=list,
        max_length=10,
        description="Parts of the code base touched (top-level folders or components).",
    )
    languages: list[str] = pydantic.Field(
        default_factory=list, max_length=10, description="Programming languages touched."
    )
    size: Size = pydantic.Field(description="Size of the change.")
    risk: Risk = pydantic.Field(description="Risk that the change breaks something.")


class PullRequestData(pydantic.BaseModel):
    """One pull request as analysis needs it."""

    repository: str = pydantic.Field(min_length=1, max_length=2000)
    number: int = pydantic.Field(ge=1)
    title: str
    body: str = ""
    author: str | None = None
    state: str = "open"
    revision: str = pydantic.Field(min_length=1, max_length=100)
    """What version of the pull request this is (head sha or ``updated_at``): a new revision is
    analysed again, the same one never."""
    commits: list[CommitData] = pydantic.Field(default_factory=list, max_length=250)
    """Its commits, when known."""


class PullRequestInsight(pydantic.BaseModel):
    """What an analyzer says about one pull request."""

    kind: Kind = pydantic.Field(description="Main kind of work.")
    summary: str = pydantic.Field(min_length=1, max_length=500, description="What it does.")
    areas: list[str] = pydantic.Field(default_factory=list, max_length=10)
    risk: Risk = pydantic.Field(description="Risk of merging it.")
    review_focus: list[str] = pydantic.Field(
        default_factory=list, max_length=10, description="What a reviewer should look at first."
    )
