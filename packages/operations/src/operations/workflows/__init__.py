"""Workflows of the operations domain, one class per file, re-exported here for the worker."""

from operations.workflows.onboarding import OnboardingWorkflow
from operations.workflows.reminder import ReminderWorkflow

__all__ = ["OnboardingWorkflow", "ReminderWorkflow"]
