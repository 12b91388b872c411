"""The files ``lanes new`` writes, as ``str.format`` templates.

Each is written the way ``packages/sync`` is (the domain to copy), and passes ``lanes check``,
ruff and mypy strict as written; the generated tests run against the real dev server like every
other test here.
"""

DOMAIN_PYPROJECT = """\
[project]
name = "lanes-{name}"
version = "0.1.0"
description = "Lanes {name} domain."
requires-python = ">=3.11"
dependencies = ["lanes-core"]

[project.scripts]
{name}-worker = "{package}.worker:main"

# How the worker bootstrap and `lanes worker --queues` find this domain; the entry point's name
# is the domain and its task queue.
[project.entry-points."lanes.domains"]
{name} = "{package}"

[tool.uv.sources]
lanes-core = {{ workspace = true }}

[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[tool.hatch.build.targets.wheel]
packages = ["src/{package}"]
"""

DOMAIN_INIT = '''\
"""The {name} domain: its activities, workflows and schedules, served on queue "{name}"."""
'''

ACTIVITIES_INIT = '''\
"""Activities of the {name} domain, one module per topic (`lanes new activity {name} NAME`)."""
'''

WORKFLOWS_INIT = '''\
"""Workflows of the {name} domain, one class per file, re-exported here for the worker."""

__all__: list[str] = []
'''

SCHEDULES = '''\
"""Periodic work of the {name} domain, declared as data and synced when its worker starts."""

from core.schedules import Schedule

SCHEDULES: list[Schedule] = []
'''

WORKER = '''\
"""Entry point of `{name}-worker`: serve the {name} queue."""

from core.worker import run_domain_worker


def main() -> None:
    """Run the {name} worker until SIGTERM/SIGINT."""
    run_domain_worker("{name}")


if __name__ == "__main__":  # `python -m {package}.worker`
    main()
'''

SMOKE_TEST = '''\
"""The {name} worker starts and serves its queue (a `lanes.ping` round trip)."""

from temporalio.client import Client

from core.dev.testing import running_worker
from core.dispatch import dispatch
from core.ping import PingResult


async def test_the_{name}_worker_serves_its_queue(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, "{name}", task_queue=task_queue):
        job = await dispatch("lanes.ping", None, task_queue=task_queue)
        answer: PingResult = await job.result()
    assert answer.task_queue == task_queue
'''

ACTIVITY = '''\
"""{title}: one activity of the {domain} domain."""

from __future__ import annotations

import pydantic

from core import activities

__all__ = ["{camel}Input", "{camel}Result", "{name}"]


class {camel}Input(pydantic.BaseModel):
    """What {name} needs; add fields with defaults so running workflows keep working."""

    subject: str


class {camel}Result(pydantic.BaseModel):
    """What {name} returns."""

    message: str


@activities.defn
async def {name}(input: {camel}Input) -> {camel}Result:
    """Answer for ``input.subject``. Make it idempotent: it may run more than once."""
    return {camel}Result(message=f"{name}: {{input.subject}}")
'''

ACTIVITY_TEST = '''\
"""{name}, dispatched to a real {domain} worker."""

from temporalio.client import Client

from core.dev.testing import running_worker
from core.dispatch import dispatch
from {package}.activities.{name} import {camel}Input, {camel}Result, {name}


async def test_{name}_answers(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, "{domain}", task_queue=task_queue):
        job = await dispatch({name}, {camel}Input(subject="hello"), task_queue=task_queue)
        result = {camel}Result.model_validate(await job.result())
    assert result.message == "{name}: hello"
'''

WORKFLOW = '''\
"""{camel}Workflow: one workflow of the {domain} domain."""

from __future__ import annotations

import pydantic
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core import durable
    from core.ping import PingInput, PingResult, ping

__all__ = ["{camel}Input", "{camel}Workflow"]


class {camel}Input(pydantic.BaseModel):
    """The workflow's single input; add fields with defaults so running histories still load."""

    note: str = ""


@workflow.defn
class {camel}Workflow:
    @workflow.run
    async def run(self, input: {camel}Input) -> str:
        answer: PingResult = await durable.run_activity(ping, PingInput(echo=input.note))
        workflow.logger.info("{name} ran on %s", answer.task_queue)
        return answer.echo or ""
'''

WORKFLOW_TEST = '''\
"""{camel}Workflow on a real {domain} worker."""

import uuid

from temporalio.client import Client

from core.dev.testing import running_worker
from {package}.workflows.{name} import {camel}Input, {camel}Workflow


async def test_{name}_runs(temporal_client: Client, task_queue: str) -> None:
    async with running_worker(temporal_client, "{domain}", task_queue=task_queue):
        result = await temporal_client.execute_workflow(
            {camel}Workflow.run,
            {camel}Input(note="hello"),
            id=f"{name}-{{uuid.uuid4().hex[:8]}}",
            task_queue=task_queue,
        )
    assert result == "hello"
'''
