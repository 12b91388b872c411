"""Task queues: one per domain, each served by its own worker.

A domain's queue is the name of its ``lanes.domains`` entry point (``email = "mail"``: queue
``email``, import package ``mail``), so a new domain needs no edit here: :func:`queue_of_package`
reads it. :class:`TaskQueue` names the queues of the domains this repository ships, for typed
references in code that knows them.
"""

from enum import StrEnum
from functools import lru_cache
from importlib.metadata import entry_points

__all__ = ["TaskQueue", "queue_of_package"]

DOMAINS_ENTRY_POINT = "lanes.domains"


class TaskQueue(StrEnum):
    """A Temporal task queue; the value is the queue name on the server."""

    SYNC = "sync"
    ANALYSIS = "analysis"
    EMAIL = "email"
    OPERATIONS = "operations"


def queue_of_package(package: str) -> str | None:
    """The queue of the installed domain whose import package is ``package`` (its top-level name),
    or ``None`` when no installed domain has that package."""
    return _queues_by_package().get(package.split(".", 1)[0])


@lru_cache(maxsize=1)
def _queues_by_package() -> dict[str, str]:
    # Read once per process: the installed distributions do not change under a running worker.
    return {ep.value.split(":", 1)[0]: ep.name for ep in entry_points(group=DOMAINS_ENTRY_POINT)}
