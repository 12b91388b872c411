"""``lanes check``: load every installed domain and fail on a declaration that cannot work."""

from __future__ import annotations

import click

from core import domains
from core.cli.support import LanesError
from core.domains import DomainError

__all__ = ["check_command"]


@click.command("check")
def check_command() -> None:
    """Load every installed domain and list what it serves; fails on a bad declaration."""
    try:
        loaded = domains.load_all()
    except (DomainError, ValueError, TypeError, ImportError) as err:
        raise LanesError(str(err)) from None
    for domain in loaded:
        click.echo(f"{domain.name} (queue {domain.task_queue}, package {domain.package})")
        for config in domain.activities:
            click.echo(f"  activity  {config.name}")
        for wf in domain.workflows:
            click.echo(f"  workflow  {wf.__temporal_workflow_definition.name}")  # type: ignore[attr-defined]
