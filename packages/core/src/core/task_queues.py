"""The task queues Lanes knows about: one per domain, each served by its own worker."""

from enum import StrEnum


class TaskQueue(StrEnum):
    """A Temporal task queue; the value is the queue name on the server."""

    SYNC = "sync"
    ANALYSIS = "analysis"
    EMAIL = "email"
    OPERATIONS = "operations"
