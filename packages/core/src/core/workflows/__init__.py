"""Workflows shipped by core and registered on every worker."""

from core.workflows.batch import BatchWorkflow
from core.workflows.single_activity import SingleActivityInput, SingleActivityWorkflow

__all__ = ["BatchWorkflow", "SingleActivityInput", "SingleActivityWorkflow"]
