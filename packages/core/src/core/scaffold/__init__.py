"""``lanes new``: write a domain, an activity, a workflow or a schedule the way ``sync`` is written.

What it writes passes ``lanes check``, ruff, mypy and its own test as written (it runs ruff's
import sorting and formatter over what it touched). A new domain is a workspace member found
through its ``lanes.domains`` entry point (its name is the queue), so no core file changes; the
workspace root's ``pyproject.toml`` gains the member (dependency, source, mypy path, isort's
first-party list) and ``uv lock`` is rerun.

Nothing is overwritten: a file that exists already is an error naming it.
"""

from core.scaffold._files import (
    ScaffoldError,
    Target,
    domain_target,
    new_activity,
    new_domain,
    new_schedule,
    new_workflow,
)

__all__ = [
    "ScaffoldError",
    "Target",
    "domain_target",
    "new_activity",
    "new_domain",
    "new_schedule",
    "new_workflow",
]
