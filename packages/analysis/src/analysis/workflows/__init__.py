"""Workflows of the analysis domain, one class per file, re-exported here for the worker."""

from analysis.workflows.analyze_repository import AnalyzeRepositoryWorkflow
from analysis.workflows.rebuild_profiles import RebuildProfilesWorkflow
from analysis.workflows.review_pull_request import ReviewPullRequestWorkflow

__all__ = ["AnalyzeRepositoryWorkflow", "RebuildProfilesWorkflow", "ReviewPullRequestWorkflow"]
