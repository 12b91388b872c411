"""``lanes history export`` and ``lanes replay``: recorded histories against today's code.

A workflow change that alters what a run in flight would do (a step added, removed or reordered,
an activity switched to ``local=``, a timer changed) wedges that run on the next worker that picks
it up (``[TMPRL1100] Nondeterminism error``). Replaying recorded histories against the new code
finds that before the deploy. Each domain keeps its recorded histories in
``packages/<domain>/tests/histories/``; CI replays them all.

``lanes replay`` loads the installed domains exactly as a deployed worker does (the same
workflows, sandbox pass-through list, data converter and failure types, each domain's activities
served on its queue), in its own process: a test that replays in-process could see a registry a
test filled, not the one a worker has.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import click
import pydantic
from temporalio.client import WorkflowHistory
from temporalio.runtime import Runtime, TelemetryConfig
from temporalio.worker import Replayer
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core import codec, domains
from core.cli.support import LanesError, run_async
from core.client import get_client
from core.domains import Domain

__all__ = ["history_group", "replay_command"]


@click.group("history")
def history_group() -> None:
    """Workflow histories: export one to replay it against later code."""


@history_group.command("export")
@click.argument("workflow_id")
@click.option("--run-id", default=None, help="A run other than the latest.")
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="File (default: stdout).",
)
def export_command(workflow_id: str, run_id: str | None, output: Path | None) -> None:
    """Export the history of WORKFLOW_ID as JSON (the format `temporal workflow show` writes)."""
    history = run_async(_fetch)(workflow_id, run_id)
    data = {"workflowId": workflow_id, **history.to_json_dict()}
    text = json.dumps(data, indent=2) + "\n"
    if output is None:
        click.echo(text, nl=False)
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    click.echo(f"{len(history.events)} events of {workflow_id} written to {output}", err=True)


async def _fetch(workflow_id: str, run_id: str | None) -> WorkflowHistory:
    client = await get_client()
    return await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()


@click.command("replay")
@click.argument("paths", nargs=-1, required=True, type=click.Path(exists=True, path_type=Path))
@click.option("--include", multiple=True, help="Extra module with workflows to load.")
@run_async
async def replay_command(paths: tuple[Path, ...], include: tuple[str, ...]) -> None:
    """Replay recorded histories (files, or folders of *.json) against today's code.

    Exits 1 naming the workflow, the file and the event when the code no longer matches one.
    """
    files = history_files(paths)
    if not files:
        raise LanesError(f"no *.json history in {', '.join(map(str, paths))}")
    loaded = domains.load_all(include=include)
    failures = await replay_files(files, loaded)
    for line in failures:
        click.echo(line, err=True)
    if failures:
        raise LanesError(
            f"{len(failures)} of {len(files)} histories no longer replay: guard the change with "
            "workflow.patched(...) (or a new workflow type) so runs in flight keep their path"
        )
    click.echo(f"{len(files)} histories replay against today's code")


def history_files(paths: Iterable[Path]) -> list[Path]:
    """The history files named by ``paths`` (folders are searched for ``*.json``)."""
    found: list[Path] = []
    for path in paths:
        found.extend(sorted(path.rglob("*.json")) if path.is_dir() else [path])
    return found


async def replay_files(files: Iterable[Path], loaded: list[Domain]) -> list[str]:
    """Replay each file as a worker of ``loaded`` would; one line per history that fails."""
    from core.worker import PASSTHROUGH_MODULES
    from core.workflows import BatchWorkflow, SingleActivityWorkflow

    workflows: list[type] = [SingleActivityWorkflow, BatchWorkflow]
    # No registry state to set up: what a job runs is carried in its input, so workflow code
    # reads nothing of the worker's (see core.activities.ActivityConfig.resolve).
    for domain in loaded:
        for wf in domain.workflows:
            if wf not in workflows:  # an --include module is loaded into every domain
                workflows.append(wf)
    replayer = Replayer(
        workflows=workflows,
        # The workers' converter: histories recorded with LANES_ENCRYPTION_KEYS set decode too.
        data_converter=codec.data_converter(),
        workflow_failure_exception_types=[pydantic.ValidationError],
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
        # The SDK core would also log every failure as a WARN line; the report below says it once.
        runtime=Runtime(telemetry=TelemetryConfig(logging=None)),
    )
    failures = []
    for file in files:
        try:
            history = load_history(file)
        except (ValueError, KeyError) as err:
            failures.append(f"{file}: not a workflow history: {err}")
            continue
        workflow_type = _started(history)
        result = await replayer.replay_workflow(history, raise_on_replay_failure=False)
        if result.replay_failure is not None:
            failures.append(
                f"{file}: {workflow_type} ({history.workflow_id}): "
                f"{_failure_text(result.replay_failure)}"
            )
    return failures


def load_history(path: Path) -> WorkflowHistory:
    """A history file from ``lanes history export`` or ``temporal workflow show -o json``."""
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    workflow_id = data.pop("workflowId", None) or re.sub(r"\.json$", "", path.name)
    if not data.get("events"):
        raise ValueError("no events")
    return WorkflowHistory.from_json(workflow_id, data)


def _failure_text(err: Exception) -> str:
    # The SDK wraps the core's message ("[TMPRL1100] Nondeterminism error: ... HistoryEvent(id: 5,
    # ActivityTaskScheduled)") in a debug dump of the failure; the message is what people need.
    found = re.search(r'message: "((?:[^"\\]|\\.)*)"', str(err))
    return found.group(1) if found else str(err)


def _started(history: WorkflowHistory) -> str:
    return history.events[0].workflow_execution_started_event_attributes.workflow_type.name
