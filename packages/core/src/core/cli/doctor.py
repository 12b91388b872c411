"""``lanes doctor``: the "debugging stuck workflows" checklist as one command.

One verdict line per check, in the order a person would look:

1. the server answers, and which version it runs;
2. the namespace exists;
3. per queue (every installed domain's main queue and sub-queues, plus ``--queue``): workflow
   and activity pollers (``DescribeTaskQueue``) — no poller means nothing runs there — and the
   backlog; a sub-queue only runs activities, so only its activity pollers count;
4. schedules whose recent runs failed, and schedules paused (with the operator's note);
5. running workflows whose workflow task keeps failing (a bug or a non-determinism: the run is
   stuck until fixed code is deployed), whose activity is on its Nth attempt, or whose activity
   has waited long for a worker; running jobs (standalone activities) on their Nth attempt or
   waiting long for a worker;
6. the database answers and its schema is at head.

Exit 1 when any check fails; ``--json`` prints the verdicts as a list for scripts.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal

import click
from temporalio.api.enums.v1 import TaskQueueKind, TaskQueueType, WorkflowExecutionStatus
from temporalio.api.taskqueue.v1 import TaskQueue
from temporalio.api.workflowservice.v1 import (
    DescribeNamespaceRequest,
    DescribeScheduleRequest,
    DescribeTaskQueueRequest,
    GetSystemInfoRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError

from core import domains
from core.client import connect
from core.errors import EXPECTED_ERRORS

__all__ = ["Verdict", "diagnose", "doctor_command"]

Status = Literal["ok", "warn", "fail", "skip"]
RPC_TIMEOUT = timedelta(seconds=5)
FAILED = {
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED: "failed",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TIMED_OUT: "timed out",
    WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_TERMINATED: "terminated",
}
_UNREACHABLE: tuple[type[Exception], ...] = (*EXPECTED_ERRORS, RPCError)


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check."""

    check: str
    status: Status
    detail: str


@click.command("doctor")
@click.option("--queue", "queues", multiple=True, help="Also check this queue (repeatable).")
@click.option("--attempts", default=3, show_default=True, help="Report activities at attempt N+.")
@click.option(
    "--pending", default=600, show_default=True, help="Report work waiting this many seconds."
)
@click.option("--json", "as_json", is_flag=True, help="Print the verdicts as JSON.")
def doctor_command(queues: tuple[str, ...], attempts: int, pending: int, as_json: bool) -> None:
    """Check the server, queues, schedules, stuck work and the database; exit 1 if anything is
    wrong."""
    import asyncio

    verdicts = asyncio.run(
        diagnose(extra_queues=queues, attempts=attempts, pending=timedelta(seconds=pending))
    )
    if as_json:
        click.echo(json.dumps([asdict(v) for v in verdicts], indent=2))
    else:
        width = max(len(v.check) for v in verdicts)
        for v in verdicts:
            click.echo(f"{v.status.upper():4}  {v.check:{width}}  {v.detail}")
    if any(v.status == "fail" for v in verdicts):
        raise SystemExit(1)


async def diagnose(
    *,
    extra_queues: tuple[str, ...] = (),
    attempts: int = 3,
    pending: timedelta = timedelta(minutes=10),
) -> list[Verdict]:
    """Every verdict, in checklist order."""
    verdicts: list[Verdict] = []
    try:
        client = await connect()
        info = await client.workflow_service.get_system_info(
            GetSystemInfoRequest(), timeout=RPC_TIMEOUT
        )
    except _UNREACHABLE as err:
        verdicts.append(Verdict("server", "fail", str(err)))
        verdicts.append(Verdict("temporal", "skip", "the server is unreachable"))
        return [*verdicts, await _database()]
    target = client.service_client.config.target_host
    verdicts.append(Verdict("server", "ok", f"{target}, Temporal {info.server_version}"))
    verdicts.append(await _namespace(client))
    queues, unloadable = _queues_to_check(extra_queues)
    verdicts.extend(unloadable)
    for queue, domain in queues.items():
        verdicts.append(await _queue(client, queue, sub_queue_of=domain))
    verdicts.extend(await _schedules(client))
    verdicts.append(await _workflows(client, attempts, pending))
    verdicts.append(await _jobs(client, attempts, pending))
    verdicts.append(await _database())
    return verdicts


async def _namespace(client: Client) -> Verdict:
    try:
        ns = await client.workflow_service.describe_namespace(
            DescribeNamespaceRequest(namespace=client.namespace), timeout=RPC_TIMEOUT
        )
    except RPCError as err:
        return Verdict("namespace", "fail", f"{client.namespace!r}: {err.message}")
    days = ns.config.workflow_execution_retention_ttl.ToTimedelta().days
    plural = "" if days == 1 else "s"
    return Verdict("namespace", "ok", f"{client.namespace!r}, retention {days} day{plural}")


def _queues_to_check(extra: tuple[str, ...]) -> tuple[dict[str, str | None], list[Verdict]]:
    """Queues to describe — each domain's main queue, its sub-queues (mapped to the domain whose
    worker polls them), then ``extra`` — and a failing verdict for a domain that cannot load."""
    queues: dict[str, str | None] = {}
    failed: list[Verdict] = []
    for name in sorted(domains.installed()):
        try:
            domain = domains.load(name)
        except Exception as err:  # any import or declaration error is the verdict itself
            failed.append(
                Verdict(
                    f"domain {name}",
                    "fail",
                    f"cannot be loaded, so its workers cannot start either: "
                    f"{type(err).__name__}: {err}",
                )
            )
            queues.setdefault(name, None)
            continue
        queues.setdefault(domain.task_queue, None)
        for sub_queue in domain.sub_queues:
            queues.setdefault(sub_queue, domain.name)
    for queue in extra:
        queues.setdefault(queue, None)
    return queues, failed


async def _queue(client: Client, queue: str, sub_queue_of: str | None = None) -> Verdict:
    pollers: dict[str, int] = {}
    backlog = 0
    for kind, label in (
        (TaskQueueType.TASK_QUEUE_TYPE_WORKFLOW, "workflow"),
        (TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY, "activity"),
    ):
        response = await client.workflow_service.describe_task_queue(
            DescribeTaskQueueRequest(
                namespace=client.namespace,
                task_queue=TaskQueue(name=queue, kind=TaskQueueKind.TASK_QUEUE_KIND_NORMAL),
                task_queue_type=kind,
                report_stats=True,
            ),
            timeout=RPC_TIMEOUT,
        )
        pollers[label] = len(response.pollers)
        backlog += response.stats.approximate_backlog_count
    check = f"queue {queue}"
    if sub_queue_of is not None:
        if not pollers["activity"]:
            return Verdict(
                check,
                "fail",
                f"no worker polls it (backlog {backlog}): it is a sub-queue of {sub_queue_of}, "
                f"polled by `{sub_queue_of}-worker`, `lanes worker --queues {sub_queue_of}` "
                "or `lanes dev` — start one, or restart one built before the sub-queue existed",
            )
        detail = f"sub-queue of {sub_queue_of}, {pollers['activity']} activity pollers"
        return Verdict(check, "ok" if backlog < 100 else "warn", f"{detail}, backlog {backlog}")
    counts = f"{pollers['workflow']} workflow / {pollers['activity']} activity pollers"
    if not pollers["workflow"] and not pollers["activity"]:
        return Verdict(
            check,
            "fail",
            f"no worker polls it (backlog {backlog}): start `{queue}-worker`, "
            "`lanes worker --queues " + queue + "` or `lanes dev`",
        )
    if not pollers["workflow"] or not pollers["activity"]:
        return Verdict(check, "warn", f"{counts}, backlog {backlog}")
    return Verdict(check, "ok" if backlog < 100 else "warn", f"{counts}, backlog {backlog}")


async def _schedules(client: Client) -> list[Verdict]:
    verdicts: list[Verdict] = []
    total = 0
    async for listed in await client.list_schedules():
        total += 1
        response = await client.workflow_service.describe_schedule(
            DescribeScheduleRequest(namespace=client.namespace, schedule_id=listed.id),
            timeout=RPC_TIMEOUT,
        )
        check = f"schedule {listed.id}"
        failed = [
            (a.start_workflow_result.workflow_id, FAILED[a.start_workflow_status])
            for a in response.info.recent_actions
            if a.start_workflow_status in FAILED
        ]
        state = response.schedule.state
        if failed:
            last_id, how = failed[-1]
            verdicts.append(
                Verdict(
                    check,
                    "fail",
                    f"{len(failed)} of its last {len(response.info.recent_actions)} runs "
                    f"{how} or worse (latest: {last_id}); see its history in the UI",
                )
            )
        elif state.paused:
            verdicts.append(
                Verdict(check, "warn", f"paused: {state.notes or 'no note'} (`lanes schedules "
                        f"unpause {listed.id}` resumes it)")
            )  # fmt: skip
    if not verdicts:
        verdicts.append(Verdict("schedules", "ok", f"{total} schedules, none failing or paused"))
    return verdicts


async def _workflows(client: Client, attempts: int, pending: timedelta) -> Verdict:
    now = datetime.now(UTC)
    problems: list[str] = []
    running = 0
    async for execution in client.list_workflows('ExecutionStatus="Running"', limit=200):
        running += 1
        description = await client.get_workflow_handle(
            execution.id, run_id=execution.run_id
        ).describe(rpc_timeout=RPC_TIMEOUT)
        raw = description.raw_description
        task = raw.pending_workflow_task
        if task.attempt > 1:
            problems.append(
                f"{execution.id} ({execution.workflow_type}): workflow task failing, attempt "
                f"{task.attempt} (a bug or non-determinism; the UI shows the stack trace)"
            )
        for activity in raw.pending_activities:
            waited = now - activity.scheduled_time.ToDatetime(UTC)
            if activity.attempt >= attempts:
                failure = activity.last_failure.message or "no failure recorded"
                problems.append(
                    f"{execution.id}: activity {activity.activity_type.name} at attempt "
                    f"{activity.attempt} ({failure})"
                )
            elif not activity.HasField("last_started_time") and waited >= pending:
                problems.append(
                    f"{execution.id}: activity {activity.activity_type.name} waiting "
                    f"{int(waited.total_seconds())}s for a worker to start it"
                )
    if problems:
        shown = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if problems[5:] else "")
        return Verdict("workflows", "fail", f"{len(problems)} stuck of {running} running: {shown}")
    return Verdict("workflows", "ok", f"{running} running, none stuck")


async def _jobs(client: Client, attempts: int, pending: timedelta) -> Verdict:
    now = datetime.now(UTC)
    running = 0
    problems: list[str] = []
    try:
        async for job in client.list_activities('ExecutionStatus="Running"', limit=200):
            running += 1
            described = await client.get_activity_handle(
                job.activity_id, run_id=job.activity_run_id
            ).describe(include_last_failure=True)
            what = f"{job.activity_id} ({job.activity_type} on {job.task_queue})"
            if described.attempt >= attempts:
                failure = described.raw_info.last_failure.message or "no failure recorded"
                problems.append(f"{what} at attempt {described.attempt} ({failure})")
            elif described.last_started_time is None and now - job.schedule_time >= pending:
                waited = int((now - job.schedule_time).total_seconds())
                problems.append(f"{what} waiting {waited}s for a worker to start it")
    except RPCError as err:
        return Verdict("jobs", "skip", f"standalone activities not listed: {err.message}")
    if problems:
        shown = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if problems[5:] else "")
        return Verdict("jobs", "fail", f"{len(problems)} stuck of {running} running: {shown}")
    return Verdict("jobs", "ok", f"{running} running, none stuck")


async def _database() -> Verdict:
    try:
        from core.db import migrations  # SQLAlchemy + Alembic: only when the check runs

        status = await migrations.current()
    except EXPECTED_ERRORS as err:
        return Verdict("database", "fail", str(err))
    if status.unknown:
        newer = ", ".join(status.unknown)
        return Verdict("database", "fail", f"{status.url}: migrated by newer code ({newer})")
    if status.behind:
        return Verdict(
            "database",
            "fail",
            f"{status.url}: behind on {', '.join(status.behind)}; run `lanes db upgrade`",
        )
    return Verdict("database", "ok", f"{status.url}, at head")
