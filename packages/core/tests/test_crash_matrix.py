"""The crash matrix on the workflow path: what a job survives, counted.

Each scenario dispatches jobs of ``test.record_effect`` (``bulk_activity.py``: it logs every
execution and records its effect once per job key) to real ``lanes worker`` subprocesses, breaks
something with SIGKILL, and counts per scenario: jobs *accepted* (the start call returned), jobs
*completed* (a result came back), jobs that *ran twice* (an execution repeated after a crash; its
effect did not) and jobs *lost* (accepted, never completed, or completed without their effect).
The figures print with ``-s`` and are in the README's Reliability section.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path
from typing import Any

import bulk_activity  # noqa: F401 - registers test.record_effect here too: the caller's registry
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
    WorkflowHandle,
)
from temporalio.service import RPCError

from core import activities
from core._jobs import job_options
from core.activities import ActivityOptions
from core.client import connect
from core.dev.server import DevServer
from core.dispatch import dispatch_many
from core.workflows import SingleActivityInput, SingleActivityWorkflow

QUEUE = "operations"
ACTIVITY = "test.record_effect"


@contextmanager
def workers(env: dict[str, str], count: int = 1) -> Iterator[list[subprocess.Popen[bytes]]]:
    """``count`` ``lanes worker`` subprocesses serving ``test.record_effect``; killed at the end."""
    procs: list[subprocess.Popen[bytes]] = []
    for _ in range(count):
        more_worker(procs, env)
    try:
        yield procs
    finally:
        for proc in procs:
            if proc.poll() is None:
                os.kill(proc.pid, signal.SIGKILL)
                proc.wait()


def more_worker(procs: list[subprocess.Popen[bytes]], env: dict[str, str]) -> None:
    """Start one more worker like the others (after one was killed)."""
    env = env | {"PYTHONPATH": str(Path(__file__).parent)}
    argv = [str(Path(sys.executable).with_name("lanes")), "worker", "--queues", QUEUE]
    argv += ["--include", "bulk_activity"]
    procs.append(
        subprocess.Popen(argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    )


async def start_job(
    client: Client, db: Path, key: str, *, local: bool, sleep: float = 0.0
) -> WorkflowHandle[Any, Any]:
    """One workflow-path job, built as ``dispatch`` builds it in workflow mode; id = ``key``."""
    config = activities.get(ACTIVITY)
    return await client.start_workflow(
        SingleActivityWorkflow.run,
        SingleActivityInput(
            activity=ACTIVITY,
            input={"db": str(db), "value": 1, "sleep": sleep, "key": key},
            # Attempts cut short by the crash are retried within seconds, not minutes.
            options=job_options(
                config,
                ActivityOptions.model_validate(
                    {
                        "local": local,
                        "start_to_close_timeout": 10,
                        "retry_policy": {"initial_interval": 1},
                    }
                ),
                QUEUE,
            ),
        ),
        id=key,
        task_queue=QUEUE,
    )


def tally(db: Path) -> tuple[set[str], int]:
    """Keys with an effect, and how many keys executed more than once."""
    if not db.exists():
        return set(), 0
    with sqlite3.connect(db, timeout=30) as conn:
        try:
            effects = {k for (k,) in conn.execute("SELECT key FROM effects")}
            twice = conn.execute(
                "SELECT COUNT(*) FROM (SELECT key FROM executions GROUP BY key HAVING COUNT(*) > 1)"
            ).fetchone()[0]
        except sqlite3.OperationalError:  # no job ran yet
            return set(), 0
    return effects, int(twice)


async def wait_until(predicate: Any, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not await predicate():
        assert time.monotonic() < deadline, f"timed out after {timeout}s waiting for {what}"
        await asyncio.sleep(0.2)


def report(scenario: str, accepted: int, completed: int, twice: int, lost: int) -> None:
    print(
        f"\n[crash matrix] {scenario}: accepted {accepted}, completed {completed}, "
        f"ran twice {twice}, lost {lost}"
    )


async def test_server_sigkilled_mid_burst_and_restarted_on_its_file(
    lanes_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "effects.db"
    state = tmp_path / "temporal.db"
    server = DevServer(ui_port=None, db_file=state)
    await server.start()
    env = lanes_env | {"TEMPORAL_ADDRESS": server.address}
    accepted: list[str] = []
    try:
        client = await connect(target_host=server.address)
        schedule_id = f"crash-{uuid.uuid4().hex[:8]}"
        schedule = await client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "SingleActivityWorkflow",
                    {"activity": "lanes.ping"},
                    id=f"{schedule_id}-run",
                    task_queue=QUEUE,
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(seconds=2))]),
            ),
        )
        with workers(env):

            async def burst() -> None:
                for n in range(400):
                    key = f"burst-{n:03d}"
                    try:
                        await start_job(client, db, key, local=n % 2 == 0, sleep=0.01)
                    except RPCError:
                        return  # the server is gone: this job was not accepted
                    accepted.append(key)

            sender = asyncio.create_task(burst())
            await wait_until(lambda: _ready(len(accepted) >= 150), 120, "150 accepted jobs")
            os.kill(server.pid or 0, signal.SIGKILL)
            await asyncio.sleep(1)
            # Back on the same file and port; the workers, the client and the start in flight
            # reconnect on their own.
            server = DevServer(ui_port=None, db_file=state, port=server.port)
            await server.start()
            await asyncio.wait_for(sender, 120)
            handles = [client.get_workflow_handle(k) for k in accepted]
            try:
                await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 180)
            except TimeoutError:
                open_ = [h.id for h in handles if (await h.describe()).close_time is None]
                raise AssertionError(f"{len(open_)} jobs still open: {open_[:5]}") from None
            fired = (await schedule.describe()).info.num_actions
            await wait_until(
                lambda: _more_actions(schedule, fired), 30, "the schedule to fire after restart"
            )
            await schedule.delete()
    finally:
        await server.stop()
    effects, twice = tally(db)
    lost = len(set(accepted) - effects)
    report(
        "server SIGKILL mid-burst, restart on its file", len(accepted), len(accepted), twice, lost
    )
    assert lost == 0
    assert effects == set(accepted)  # nothing that was refused ran either


async def _ready(value: bool) -> bool:
    return value


async def _more_actions(schedule: Any, before: int) -> bool:
    return bool((await schedule.describe()).info.num_actions > before)


async def test_worker_sigkilled_mid_job_on_the_workflow_path(
    temporal_client: Client, lanes_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "effects.db"
    n = 60
    run = uuid.uuid4().hex[:8]
    with workers(lanes_env) as procs:
        # Half local jobs (run in the workflow's worker), half activity tasks; the latter take
        # long enough that the kill finds them running.
        handles = [
            await start_job(
                temporal_client,
                db,
                f"kill-{run}-{i:02d}",
                local=i % 2 == 0,
                sleep=0.3 if i % 2 == 0 else 2.0,
            )
            for i in range(n)
        ]
        await wait_until(lambda: _ready(len(tally(db)[0]) >= 5), 60, "the first jobs to run")
        os.kill(procs[0].pid, signal.SIGKILL)
        procs[0].wait()
        done_at_kill = len(tally(db)[0])
        assert done_at_kill < n, "every job had finished before the kill: nothing was tested"
        more_worker(procs, lanes_env)
        await asyncio.wait_for(asyncio.gather(*(h.result() for h in handles)), 180)
    effects, twice = tally(db)
    keys = {h.id for h in handles}
    report(
        f"worker SIGKILL mid-job (workflow path; {done_at_kill}/{n} done at the kill)",
        n,
        n,
        twice,
        len(keys - effects),
    )
    assert effects == keys


async def test_a_burst_of_2000_jobs_loses_none(
    temporal_client: Client, lanes_env: dict[str, str], tmp_path: Path
) -> None:
    db = tmp_path / "effects.db"
    n = 2000
    with workers(lanes_env):
        bulk = await dispatch_many(
            ACTIVITY,
            [{"db": str(db), "value": v} for v in range(n)],
            keys=[f"b-{v:04d}" for v in range(n)],
            task_queue=QUEUE,
            batch_size=500,
            concurrency=20,
            options={"local": True},
            client=temporal_client,
        )
        results = await asyncio.wait_for(bulk.results(), 240)
    completed = sum(r.ok for r in results)
    effects, twice = tally(db)
    report("2,000-job burst (dispatch_many)", n, completed, twice, n - len(effects))
    assert completed == n and [r.result for r in results] == [2 * v for v in range(n)]
    assert effects == {f"b-{v:04d}" for v in range(n)}
