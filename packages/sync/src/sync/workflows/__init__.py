"""Workflows of the sync domain, one class per file, re-exported here for the worker."""

from sync.workflows.sync_all_repositories import SyncAllRepositoriesWorkflow
from sync.workflows.sync_repository import SyncRepositoryWorkflow

__all__ = ["SyncAllRepositoriesWorkflow", "SyncRepositoryWorkflow"]
