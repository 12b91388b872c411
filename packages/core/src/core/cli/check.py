"""``lanes check``: the gate before CI — lint the workflows, load every domain, check schedules.

Prints what each domain serves, then one line per problem (``file:line: rule: what to do
instead``) and exits 1 when there is any. ``--rules`` lists every rule.
"""

from __future__ import annotations

import click

from core import checks, domains
from core.cli.support import LanesError
from core.domains import DomainError

__all__ = ["check_command"]


@click.command("check")
@click.option("--quiet", "-q", is_flag=True, help="Print only the problems.")
@click.option("--rules", "list_rules", is_flag=True, help="List every rule and exit.")
def check_command(quiet: bool, list_rules: bool) -> None:
    """Lint workflow code and load every installed domain; exit 1 on any problem.

    Opt a line out of a lint rule with a comment: `# lanes: allow[rule]`.
    """
    if list_rules:
        for name, text in {**checks.RULES, **checks.STRUCTURE_RULES}.items():
            click.echo(f"{name:16} {text}")
        return
    findings = checks.check_domains()
    if not quiet:
        _list_served()
    for finding in findings:
        click.echo(str(finding))
    if findings:
        raise LanesError(
            f"{len(findings)} problem{'s' if len(findings) != 1 else ''} found "
            "(a line can opt out of a lint rule with `# lanes: allow[rule]`)"
        )
    if not quiet:
        click.echo("lanes check: no problems")


def _list_served() -> None:
    for name in sorted(domains.installed()):
        try:
            domain = domains.load(name)
        except (DomainError, ValueError, TypeError, ImportError):
            continue  # reported as a finding
        subs = f", sub-queues {', '.join(domain.sub_queues)}" if domain.sub_queues else ""
        click.echo(f"{domain.name} (queue {domain.task_queue}{subs}, package {domain.package})")
        for config in domain.activities:
            where = f"  (queue {config.queue})" if config.queue != domain.task_queue else ""
            click.echo(f"  activity  {config.name}{where}")
        for wf in domain.workflows:
            click.echo(f"  workflow  {wf.__temporal_workflow_definition.name}")  # type: ignore[attr-defined]
