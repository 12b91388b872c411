"""Command groups that installed packages add to ``lanes``, found by entry point.

A domain declares ``[project.entry-points."lanes.cli"] repos = "sync.cli:repos"`` and
``lanes repos ...`` appears wherever it is installed. Core never imports a domain by name: an
image with one domain shows that domain's commands only.
"""

from __future__ import annotations

from importlib.metadata import entry_points

import click

__all__ = ["ENTRY_POINT_GROUP", "add_plugin_commands"]

ENTRY_POINT_GROUP = "lanes.cli"


def add_plugin_commands(group: click.Group) -> None:
    """Add every installed ``lanes.cli`` command to ``group``; a broken one is skipped loudly."""
    for ep in sorted(entry_points(group=ENTRY_POINT_GROUP), key=lambda e: e.name):
        if ep.name in group.commands:
            continue  # a built-in command keeps its name
        try:
            command = ep.load()
        except Exception as err:  # one broken plugin must not take the whole CLI down
            click.echo(
                f"lanes: warning: command {ep.name!r} from {ep.value} failed to load: {err}",
                err=True,
            )
            continue
        if isinstance(command, click.Command):
            group.add_command(command, ep.name)
