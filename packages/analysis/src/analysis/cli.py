"""``lanes analysis``: what analysis found, and analysing a repository now, from the shell.

Added to ``lanes`` by the ``lanes.cli`` entry point (see ``packages/analysis/pyproject.toml``), so
core does not import this domain. Heavy imports (SQLAlchemy, rich, the workflows) happen inside
the commands: every ``lanes`` invocation loads this module.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

import click

from core.cli.support import LanesError, run_async

__all__ = ["analysis"]


async def _dispose() -> None:
    from core.db import dispose_engines

    await dispose_engines()


def _with_db(fn: Callable[..., Coroutine[Any, Any, None]]) -> Callable[..., None]:
    # Pooled connections are closed on the command's own loop, before it ends.
    return run_async(fn, cleanup=_dispose)


@click.group("analysis")
def analysis() -> None:
    """Commit and pull-request analyses and developer profiles."""


@analysis.command("show")
@click.argument("repository")
@click.option("--limit", default=20, show_default=True, help="Newest commits to list.")
@_with_db
async def show_command(repository: str, limit: int) -> None:
    """Newest commit analyses of REPOSITORY (URL or local path), its authors' profiles, and
    what the model calls cost."""
    from rich.console import Console
    from rich.table import Table
    from sqlalchemy import func, select

    from analysis import store
    from analysis.models import CommitAnalysis, DeveloperProfile, ModelCall
    from core import db

    async with db.session() as s:
        url = await _resolve(s, repository)
        analyses = list(
            (
                await s.execute(
                    select(CommitAnalysis)
                    .where(CommitAnalysis.repository == url)
                    .order_by(CommitAnalysis.authored_at.desc(), CommitAnalysis.id.desc())
                    .limit(limit)
                )
            ).scalars()
        )
        total = await store.count_analyses(s, url)
        by_analyzer: dict[str, int] = {
            analyzer: n
            for analyzer, n in (
                await s.execute(
                    select(CommitAnalysis.analyzer, func.count())
                    .where(CommitAnalysis.repository == url)
                    .group_by(CommitAnalysis.analyzer)
                )
            ).all()
        }
        emails = await store.authors(s, url)
        profiles = list(
            (
                await s.execute(
                    select(DeveloperProfile)
                    .where(DeveloperProfile.author_email.in_(emails))
                    .order_by(DeveloperProfile.commits.desc(), DeveloperProfile.author_email)
                )
            ).scalars()
        )
        usage = (
            await s.execute(
                select(
                    ModelCall.outcome,
                    func.count(),
                    func.sum(ModelCall.input_tokens),
                    func.sum(ModelCall.output_tokens),
                    func.avg(ModelCall.latency_ms),
                )
                .where(ModelCall.subject.like(f"commit {url}@%"))
                .group_by(ModelCall.outcome)
            )
        ).all()

    console = Console(width=None if Console().is_terminal else 160)
    made_by = ", ".join(f"{n} by {a}" for a, n in sorted(by_analyzer.items()))
    console.print(f"[bold]{url}[/bold]: {total} commits analysed ({made_by or 'none yet'})")
    commits = Table("sha", "date", "author", "kind", "size", "risk", "areas", "summary")
    for a in analyses:
        when = store.aware(a.authored_at)
        commits.add_row(
            a.sha[:10],
            when.strftime("%Y-%m-%d") if when else "",
            a.author_email,
            a.kind,
            a.size,
            a.risk,
            ", ".join(a.areas[:3]),
            a.summary,
        )
    console.print(commits)
    people = Table("developer", "commits", "languages", "areas", "kinds", "last commit")
    for p in profiles:
        last = store.aware(p.last_commit_at)
        people.add_row(
            f"{p.author_name} <{p.author_email}>",
            str(p.commits),
            _top(p.languages),
            _top(p.areas),
            _top(p.kinds),
            last.strftime("%Y-%m-%d") if last else "",
        )
    console.print(people)
    if usage:
        calls = Table("model calls", "count", "tokens in", "tokens out", "avg latency")
        for outcome, n, tokens_in, tokens_out, latency in usage:
            calls.add_row(
                outcome, str(n), str(tokens_in or 0), str(tokens_out or 0), f"{latency or 0:.0f} ms"
            )
        console.print(calls)


@analysis.command("run")
@click.argument("repository")
@click.option("--wait", is_flag=True, help="Wait for the analysis and print its counts.")
@_with_db
async def run_command(repository: str, wait: bool) -> None:
    """Analyse what is not analysed yet of REPOSITORY, as workflow analyze-repo-<hash>."""
    import hashlib

    from temporalio.client import WorkflowFailureError
    from temporalio.exceptions import WorkflowAlreadyStartedError

    from analysis import TASK_QUEUE
    from analysis.workflows import AnalyzeRepositoryWorkflow
    from analysis.workflows.analyze_repository import AnalyzeRepositoryInput
    from core import db
    from core.client import get_client

    async with db.session() as s:
        url = await _resolve(s, repository)
    workflow_id = f"analyze-repo-{hashlib.sha256(url.encode()).hexdigest()[:12]}"
    client = await get_client()
    try:
        handle = await client.start_workflow(
            AnalyzeRepositoryWorkflow.run,
            AnalyzeRepositoryInput(repository=url),
            id=workflow_id,
            task_queue=TASK_QUEUE,
        )
    except WorkflowAlreadyStartedError:
        raise LanesError(f"{url} is being analysed already ({workflow_id})") from None
    click.echo(f"started {workflow_id}")
    if wait:
        try:
            result: Any = await handle.result()
        except WorkflowFailureError as err:
            cause: BaseException = err
            while cause.__cause__ is not None:
                cause = cause.__cause__
            raise LanesError(f"analysis of {url} failed: {cause}") from None
        click.echo(result.model_dump_json(indent=2))


async def _resolve(s: Any, repository: str) -> str:
    """The stored repository URL ``repository`` names: as stored, a local path (stored as its
    ``file://`` URI), or the unique stored URL ending with it."""
    from sqlalchemy import select

    from analysis.models import ReceivedCommit

    candidates = [repository.rstrip("/")]
    local = _local_uri(repository)
    if local is not None:
        candidates.append(local)
    for candidate in candidates:
        found = await s.scalar(
            select(ReceivedCommit.repository).where(ReceivedCommit.repository == candidate).limit(1)
        )
        if found:
            return str(found)
    matches = list(
        (
            await s.execute(
                select(ReceivedCommit.repository)
                .distinct()
                .where(ReceivedCommit.repository.endswith(repository.rstrip("/")))
                .limit(5)
            )
        ).scalars()
    )
    if len(matches) == 1:
        return str(matches[0])
    if matches:
        raise LanesError(f"{repository!r} matches several repositories: {', '.join(matches)}")
    raise LanesError(
        f"no analysed commits of {repository!r}; sync it (`lanes repos sync URL`) or dispatch "
        "analyze_commits with its commits first"
    )


def _local_uri(repository: str) -> str | None:
    path = Path(repository).expanduser()
    return path.resolve().as_uri() if path.exists() else None


def _top(counts: dict[str, Any], n: int = 3) -> str:
    return ", ".join(f"{k} {v}" for k, v in list(counts.items())[:n])
