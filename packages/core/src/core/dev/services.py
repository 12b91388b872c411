"""Services ``lanes dev`` runs beside the workers, contributed by domains (``lanes.dev``).

A domain declares ``[project.entry-points."lanes.dev"] mail = "mail.sink:dev_service"``: a
callable returning an async context manager that starts the service (the email domain's local
SMTP sink) and yields the environment variables the workers need to use it
(``{"LANES_SMTP_URL": ...}``). ``lanes dev`` enters every one before it starts the workers, puts
their variables into its environment (the workers run in its process) and leaves them, in
reverse order, when it stops. Core never imports a domain by name; a service that fails to load
or start is skipped with a warning, like a broken ``lanes.cli`` plugin.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import AsyncIterator, Callable, Mapping
from importlib.metadata import entry_points

__all__ = ["ENTRY_POINT_GROUP", "dev_services"]

ENTRY_POINT_GROUP = "lanes.dev"


@contextlib.asynccontextmanager
async def dev_services(
    warn: Callable[[str], None] = print,
) -> AsyncIterator[dict[str, dict[str, str]]]:
    """Enter every installed ``lanes.dev`` service; yields service name → the variables it set."""
    started: dict[str, dict[str, str]] = {}
    async with contextlib.AsyncExitStack() as stack:
        for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
            try:
                env: Mapping[str, str] | None = await stack.enter_async_context(ep.load()())
            except Exception as err:  # one broken service must not keep `lanes dev` down
                warn(f"dev service {ep.name!r} from {ep.value} did not start: {err}")
                continue
            started[ep.name] = dict(env or {})
            os.environ.update(started[ep.name])
        yield started
