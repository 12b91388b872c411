"""Which activities this worker process serves, per task queue: the worker's routing state.

The worker bootstrap records it (:func:`serve`) when it builds a worker; activity code that runs
other activities in-process (``lanes.run_jobs``) reads it (:func:`served`). Workflow code never
does: what a job runs is decided where the job is created and carried in its input
(:meth:`core.activities.ActivityConfig.resolve`), so a workflow replays the same on any worker
version.
"""

from __future__ import annotations

from core import activities
from core.activities import ActivityConfig

__all__ = ["serve", "served", "served_names"]

_SERVED: dict[str, frozenset[str]] = {}


def serve(task_queue: str, activity_names: frozenset[str]) -> None:
    """Record which activities the worker on ``task_queue`` runs (called by the bootstrap)."""
    _SERVED[task_queue] = activity_names


def served_names(task_queue: str) -> list[str]:
    """The activity names the worker on ``task_queue`` runs, sorted (empty when none is known)."""
    return sorted(_SERVED.get(task_queue, ()))


def served(name: str, task_queue: str) -> ActivityConfig | None:
    """The config of ``name`` when this process's worker on ``task_queue`` runs it, else None."""
    names = _SERVED.get(task_queue)
    if names is None or name not in names:
        return None
    return activities.config_of(name)
