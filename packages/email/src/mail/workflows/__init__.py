"""Workflows of the email domain, one class per file, re-exported here for the worker."""

from mail.workflows.campaign import CampaignWorkflow

__all__ = ["CampaignWorkflow"]
