"""Workflows of the analysis domain, one class per file, re-exported here for the worker."""

from analysis.workflows.analyze_repository import AnalyzeRepositoryWorkflow
from analysis.workflows.rebuild_profiles import RebuildProfilesWorkflow

__all__ = ["AnalyzeRepositoryWorkflow", "RebuildProfilesWorkflow"]
