"""``lanes dispatch`` and ``lanes ping``: hand a job to a lane from the shell."""

from __future__ import annotations

import asyncio
import json
import math
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import click
import pydantic_core
from temporalio.api.enums.v1 import TaskQueueType
from temporalio.api.taskqueue.v1 import TaskQueue as TaskQueueRef
from temporalio.api.workflowservice.v1 import DescribeTaskQueueRequest
from temporalio.client import Client

from core import domains
from core.cli.support import LanesError, run_async
from core.client import get_client
from core.dispatch import JobFailedError, dispatch

__all__ = ["dispatch_command", "ping_command"]


def _load_known_activities() -> None:
    # Import every installed domain's activities so names resolve to their queue and inputs are
    # validated here, before anything is started.
    domains.load_all()


def _json_arg(raw: str | None, what: str) -> Any:
    if raw is None:
        return None
    source = what
    if raw == "-":
        raw, source = sys.stdin.read(), f"{what} (stdin)"
    elif raw.startswith("@"):
        path = Path(raw[1:])
        try:
            raw = path.read_text()
        except OSError as err:
            raise click.BadParameter(f"{what}: cannot read {path}: {err.strerror}") from None
        source = f"{what} ({path})"
    try:
        return json.loads(raw)
    except json.JSONDecodeError as err:
        raise click.BadParameter(f"{source} is not valid JSON: {err}") from None


async def _has_pollers(client: Client, queue: str) -> bool:
    """Whether any worker polls ``queue`` for activity tasks right now."""
    response = await client.workflow_service.describe_task_queue(
        DescribeTaskQueueRequest(
            namespace=client.namespace,
            task_queue=TaskQueueRef(name=queue),
            task_queue_type=TaskQueueType.TASK_QUEUE_TYPE_ACTIVITY,
        )
    )
    return bool(response.pollers)


def _echo_json(value: Any) -> None:
    click.echo(json.dumps(pydantic_core.to_jsonable_python(value), indent=2, sort_keys=True))


@click.command("dispatch")
@click.argument("activity")
@click.option(
    "--input",
    "input_json",
    help="The activity's input as JSON, @FILE to read it from a file, - from stdin.",
)
@click.option("--queue", "task_queue", help="Task queue (default: the activity's own).")
@click.option("--id", "job_id", help="Job id (idempotency key): the same id twice runs once.")
@click.option("--delay", type=float, help="Start no earlier than this many seconds from now.")
@click.option("--priority", type=click.IntRange(1, 5), help="1 (first) to 5 (last) in a backlog.")
@click.option("--fairness-key", help="Share the queue fairly between keys (a tenant id).")
@click.option(
    "--options", "options_json", help="Overrides as JSON, e.g. '{\"maximum_attempts\":1}'."
)
@click.option("--wait", is_flag=True, help="Wait for the job and print its result.")
@run_async
async def dispatch_command(
    activity: str,
    input_json: str | None,
    task_queue: str | None,
    job_id: str | None,
    delay: float | None,
    priority: int | None,
    fairness_key: str | None,
    options_json: str | None,
    wait: bool,
) -> None:
    """Dispatch one job: run ACTIVITY with --input."""
    if delay is not None and (not math.isfinite(delay) or delay < 0):
        raise click.BadParameter(f"--delay must be a number of seconds >= 0, got {delay}")
    payload = _json_arg(input_json, "--input")
    options = _json_arg(options_json, "--options")
    _load_known_activities()
    job = await dispatch(
        activity,
        payload,
        task_queue=task_queue,
        id=job_id,
        start_delay=delay or None,
        priority=priority,
        fairness_key=fairness_key,
        options=options,
        connect_timeout=0,  # a person at the shell wants the error now
    )
    summary: dict[str, Any] = {
        "id": job.id,
        "run_id": job.run_id,
        "task_queue": job.task_queue,
        "started": job.started,
    }
    if not job.started:
        click.echo(f"already dispatched: {job.id} (nothing new started)", err=True)
    if wait:
        if not await _has_pollers(await get_client(), job.task_queue):
            click.echo(
                f"warning: no worker polls task queue {job.task_queue!r}; the job waits until "
                "one does (Ctrl-C stops waiting, the job stays queued)",
                err=True,
            )
        try:
            summary["result"] = await job.result()
        except JobFailedError as err:
            _echo_json(summary)
            raise LanesError(str(err)) from None
    _echo_json(summary)


@click.command("ping")
@click.argument("queues", nargs=-1)
@click.option("--timeout", default=10.0, show_default=True, help="Seconds to wait per lane.")
@run_async
async def ping_command(queues: tuple[str, ...], timeout: float) -> None:
    """Round trip a lanes.ping job through each lane (default: every installed domain)."""
    client = await get_client()
    names = list(queues) or sorted(domains.installed())

    async def one(queue: str) -> tuple[str, float | None, str]:
        started = time.perf_counter()
        job = await dispatch(
            "lanes.ping",
            task_queue=queue,
            # A lane nobody serves must not leave the ping queued on the server forever.
            options={"schedule_to_close_timeout": timedelta(seconds=timeout)},
            client=client,
        )
        try:
            result = await asyncio.wait_for(job.result(), timeout)
        except (TimeoutError, JobFailedError):
            return queue, None, "no worker answered"
        return queue, (time.perf_counter() - started) * 1000, f"{result.worker}"

    results = await asyncio.gather(*(one(q) for q in names))
    failed = False
    for queue, ms, detail in results:
        if ms is None:
            failed = True
            click.echo(f"{queue:<12} DOWN     {detail} within {timeout:.0f}s")
        else:
            click.echo(f"{queue:<12} {ms:7.1f} ms  {detail}")
    if failed:
        raise LanesError("some lanes did not answer; is their worker running?")
