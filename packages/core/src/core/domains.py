"""Finding domains and what they contain.

A domain is an installed distribution that names its import package under the ``lanes.domains``
entry-point group (``sync = "sync"``, ``email = "mail"``). The entry-point name is the domain and
its task queue. Its activities are every ``@activities.defn`` function in the modules under
``<package>.activities``; its workflows are the classes ``<package>.workflows`` exports.

An activity may run on a *sub-queue* of its domain instead: a queue of its own named
``<domain>.<name>`` (``queue="billing.psp"`` in a domain ``billing``), polled by the same worker
process beside the domain's main queue — Celery's task routing, and what a rate limit of its own
needs (the server limits whole queues).

Discovery by entry point, not by a list in core, means adding a domain edits no core file, and an
image that installs one domain can only ever serve that one.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from types import ModuleType
from typing import Any

from core import activities
from core.activities import ActivityConfig
from core.ratelimit import RateLimit

__all__ = ["Domain", "DomainError", "installed", "load", "load_all"]

ENTRY_POINT_GROUP = "lanes.domains"


class DomainError(RuntimeError):
    """A domain is missing or declares something inconsistent."""


@dataclass(frozen=True)
class Domain:
    """One domain's queue, activities and workflows, as loaded in this process."""

    name: str
    package: str
    task_queue: str
    activities: tuple[ActivityConfig, ...] = ()
    workflows: tuple[type, ...] = ()
    modules: tuple[str, ...] = field(default=(), repr=False)

    @property
    def sub_queues(self) -> tuple[str, ...]:
        """Queues of their own (``<domain>.<name>``) its activities run on, beside the main one."""
        return tuple(sorted({str(c.queue) for c in self.activities if c.queue != self.task_queue}))

    @property
    def rate_limits(self) -> dict[str, RateLimit]:
        """Rate limits its activities declare, by sub-queue (:func:`load` refuses two on one);
        ``LANES_RATE_LIMITS`` overrides them."""
        return {
            str(c.queue): c.rate_limit
            for c in self.activities
            if c.rate_limit is not None and c.queue != self.task_queue
        }

    @property
    def queues(self) -> tuple[str, ...]:
        """Every queue its worker polls: the main one, then its sub-queues."""
        return (self.task_queue, *self.sub_queues)


def installed() -> dict[str, str]:
    """Installed domains: name → import package."""
    return {ep.name: ep.value for ep in entry_points(group=ENTRY_POINT_GROUP)}


def load(name: str, include: Iterable[str] = ()) -> Domain:
    """Import domain ``name`` and collect its activities and workflows.

    ``include`` names extra modules whose activities (for this domain's queue) and workflows are
    served too, like Celery's ``--include``.
    """
    domains = installed()
    if name not in domains:
        known = ", ".join(sorted(domains)) or "none"
        raise DomainError(
            f"domain {name!r} is not installed (installed: {known}); "
            f"install its package, e.g. `uv sync --package lanes-{name}`"
        )
    package = domains[name]
    modules = [*_submodules(f"{package}.activities"), *include]
    for module in modules:
        importlib.import_module(module)
    workflows_module = importlib.import_module(f"{package}.workflows")
    workflows = _workflows_in(workflows_module)
    for module in include:
        workflows.extend(
            w for w in _workflows_in(importlib.import_module(module)) if w not in workflows
        )

    mine: list[ActivityConfig] = []
    for config in activities.registered().values():
        ours = config.queue == name or str(config.queue).startswith(f"{name}.")
        if config.module.startswith(f"{package}.activities"):
            if not ours:
                raise DomainError(
                    f"activity {config.name!r} in {config.module} declares queue "
                    f"{config.queue!r}, but domain {name!r} serves queue {name!r} and its "
                    f"sub-queues ('{name}.<name>'); declare it in the package of the domain that "
                    "runs it"
                )
            mine.append(config)
        elif config.module in include and ours:
            mine.append(config)
    _check_declared_limits(name, mine)
    return Domain(
        name=name,
        package=package,
        task_queue=name,
        activities=tuple(sorted(mine, key=lambda c: c.name)),
        workflows=tuple(workflows),
        modules=tuple(modules),
    )


def _check_declared_limits(name: str, configs: Iterable[ActivityConfig]) -> None:
    """Declared rate limits: one per sub-queue, never on the main queue."""
    limits: dict[str, RateLimit] = {}
    declared_by: dict[str, str] = {}
    for config in configs:
        if config.rate_limit is None:
            continue
        queue = str(config.queue)
        if queue == name:
            raise DomainError(
                f"activity {config.name!r} declares rate_limit={str(config.rate_limit)!r} on "
                f"queue {name!r}, which would limit every job of the domain; give it a queue of "
                f"its own (queue={name + '.' + config.name.rsplit('.', 1)[-1]!r}), or limit the "
                f"whole queue with LANES_RATE_LIMITS"
            )
        if queue in limits and limits[queue] != config.rate_limit:
            raise DomainError(
                f"queue {queue!r} has two rate limits: {str(limits[queue])!r} from activity "
                f"{declared_by[queue]!r} and {str(config.rate_limit)!r} from {config.name!r}; "
                "the server limits the whole queue, so declare one"
            )
        limits[queue], declared_by[queue] = config.rate_limit, config.name


def load_all(names: Iterable[str] | None = None, include: Iterable[str] = ()) -> list[Domain]:
    """Load the named domains (default: every installed one)."""
    include = tuple(include)
    return [load(n, include) for n in (names or sorted(installed()))]


def _submodules(package: str) -> list[str]:
    try:
        pkg = importlib.import_module(package)
    except ModuleNotFoundError:
        return []
    path = getattr(pkg, "__path__", None)
    if path is None:
        return [package]
    found = [package]
    for info in pkgutil.walk_packages(path, prefix=f"{package}."):
        found.append(info.name)
    return found


def _workflows_in(module: ModuleType) -> list[type]:
    names: Iterable[str] = getattr(module, "__all__", None) or dir(module)
    found: list[type] = []
    for attr in names:
        value: Any = getattr(module, attr, None)
        if isinstance(value, type) and hasattr(value, "__temporal_workflow_definition"):
            found.append(value)
    return found
