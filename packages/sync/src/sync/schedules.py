"""Periodic work of the sync domain, declared as data and synced when its worker starts."""

from datetime import timedelta

from core.schedules import Schedule
from sync.workflows import SyncAllRepositoriesWorkflow
from sync.workflows.sync_all_repositories import SyncAllInput

SCHEDULES: list[Schedule] = [
    Schedule(
        id="sync.all_repositories",
        target=SyncAllRepositoriesWorkflow,
        input=SyncAllInput(),
        every=timedelta(minutes=15),
        # A run still going when the next is due is not doubled up (overlap=skip, the default);
        # the child ids sync-repo-<id> also keep a manual run from syncing a repository twice.
        description="Sync every registered repository (incrementally) every 15 minutes.",
    ),
]
