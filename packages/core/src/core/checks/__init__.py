"""``lanes check``: the static gate before CI.

Two parts: a lint of every workflow file (:mod:`core.checks._lint`, no imports, by AST) and the
checks that need the domains loaded as a worker loads them (:mod:`core.checks._domains`). Every
problem is a :class:`Finding` printed as ``file:line: rule: what to do instead``.
"""

from core.checks._domains import (
    STRUCTURE_RULES,
    check_activities,
    check_domains,
    check_schedules,
    check_workflow_file,
    workflow_files,
)
from core.checks._lint import RULES, Finding, lint_file, lint_source

__all__ = [
    "RULES",
    "STRUCTURE_RULES",
    "Finding",
    "check_activities",
    "check_domains",
    "check_schedules",
    "check_workflow_file",
    "lint_file",
    "lint_source",
    "workflow_files",
]
