"""``lanes schedules ...`` as a person runs it: a subprocess against the session's dev server."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from click.testing import CliRunner, Result
from temporalio.client import Client

from core.cli.main import cli
from core.client import reset_client
from core.dev.testing import running_worker
from core.schedules import (
    Schedule,
    describe_or_none,
    load_schedules,
    owned_schedule_ids,
    sync_schedules,
)

LANES = str(Path(sys.executable).with_name("lanes"))


async def run_lanes(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    """``lanes schedules ARGS`` as a subprocess: the real entry point, exit code and stderr."""
    return await asyncio.to_thread(
        subprocess.run,
        [LANES, "schedules", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


async def invoke(*args: str) -> Result:
    """``lanes schedules ARGS`` in-process (a subprocess costs seconds of imports on a busy box).

    In a thread, because the command runs its own event loop; with a fresh cached client, because
    a client belongs to the loop it was made on. ``TEMPORAL_ADDRESS`` is the session's server.
    """

    def run() -> Result:
        reset_client()
        try:
            return CliRunner().invoke(cli, ["schedules", *args])
        finally:
            reset_client()

    return await asyncio.to_thread(run)


def hourly(schedule_id: str, task_queue: str) -> Schedule:
    return Schedule(
        id=schedule_id,
        target="lanes.ping",
        task_queue=task_queue,
        every=timedelta(hours=1),
        description="cli test",
    )


async def test_list_pause_unpause_trigger_backfill_delete(
    temporal_client: Client, task_queue: str
) -> None:
    owner = f"test-{uuid.uuid4().hex[:8]}"
    schedule_id = f"{owner}.hourly"
    await sync_schedules(temporal_client, [hourly(schedule_id, task_queue)], owner=owner)
    handle = temporal_client.get_schedule_handle(schedule_id)

    paused = await invoke("pause", schedule_id, "--note", "db migration")
    assert (paused.exit_code, paused.stdout) == (0, f"paused {schedule_id}\n")
    state = (await handle.describe()).schedule.state
    assert (state.paused, state.note) == (True, "db migration")

    listed = await invoke("list", "--owner", owner)
    assert listed.exit_code == 0, listed.output
    header, row = listed.stdout.splitlines()
    assert header.split() == [
        "ID",
        "OWNER",
        "SPEC",
        "NEXT",
        "RUNS",
        "(UTC)",
        "PAUSED",
        "LAST",
        "RESULT",
    ]
    cells = row.split()
    assert cells[:4] == [schedule_id, owner, "every", "1:00:00"]
    assert cells[-2:] == ["yes", "-"]

    unpaused = await invoke("unpause", schedule_id)
    assert unpaused.exit_code == 0, unpaused.output
    assert not (await handle.describe()).schedule.state.paused

    async with running_worker(temporal_client, task_queue=task_queue):
        triggered = await invoke("trigger", schedule_id)
        assert triggered.exit_code == 0, triggered.output
        await wait_for_actions(temporal_client, schedule_id, 1)
        run = (await handle.describe()).info.recent_actions[-1].action
        await temporal_client.get_workflow_handle(run.workflow_id).result()  # type: ignore[attr-defined]
    listed = await invoke("list", "--owner", owner)
    row = listed.stdout.splitlines()[1]
    assert re.search(rf" no +completed \(\S+ \S+, {re.escape(schedule_id)}-\S+\)$", row), row

    # Three whole hours in the past: exactly three hourly runs, started now.
    top = datetime.now(UTC).replace(minute=30, second=0, microsecond=0) - timedelta(hours=1)
    start, end = top - timedelta(hours=3), top
    backfilled = await invoke(
        "backfill",
        schedule_id,
        "--start",
        start.isoformat(),
        "--end",
        end.isoformat(),
        "--overlap",
        "allow_all",
    )
    assert backfilled.exit_code == 0, backfilled.output
    scheduled = await wait_for_actions(temporal_client, schedule_id, 1 + 3)
    hour_marks = [start + timedelta(minutes=30) + timedelta(hours=h) for h in range(3)]
    assert scheduled[-3:] == hour_marks

    deleted = await invoke("delete", schedule_id)
    assert deleted.exit_code == 0, deleted.output
    assert f"domain {owner!r} declares it" in deleted.stderr
    assert await describe_or_none(handle) is None


async def wait_for_actions(client: Client, schedule_id: str, count: int) -> list[datetime]:
    """Wait for ``count`` actions in all; returns every action's scheduled time, oldest first."""
    handle = client.get_schedule_handle(schedule_id)
    async with asyncio.timeout(15):
        while True:
            description = await handle.describe()
            # One snapshot of the scheduler: the actions taken, and its buffer of starts still
            # due. An empty buffer means nothing asked for is pending, so the count is final.
            if (
                description.info.num_actions >= count
                and description.raw_description.info.buffer_size == 0
            ):
                break
            await asyncio.sleep(0.1)
    assert description.info.num_actions == count  # no more than asked for either
    return [a.scheduled_at for a in description.info.recent_actions]


async def test_sync_plans_then_applies_the_installed_domains_schedules(
    temporal_client: Client,
) -> None:
    handle = temporal_client.get_schedule_handle("operations.heartbeat")
    assert await describe_or_none(handle) is None

    plan = await invoke("sync", "--dry-run")
    assert plan.exit_code == 0, plan.output
    # The domain declares more than the heartbeat; the plan lists each.
    declared = len(load_schedules("operations"))
    assert f"schedules of 'operations' (dry run): {declared} to create, 0 to update" in plan.stdout
    assert "  create    operations.heartbeat" in plan.stdout.splitlines()
    assert await describe_or_none(handle) is None

    try:
        applied = await invoke("sync", "--owner", "operations")
        assert applied.exit_code == 0, applied.output
        lines = applied.stdout.splitlines()
        assert (
            lines[0]
            == f"schedules of 'operations': {declared} created, 0 updated, 0 unchanged, 0 deleted"
        )
        assert "  created   operations.heartbeat" in lines
        assert await describe_or_none(handle) is not None
    finally:
        for schedule_id in await owned_schedule_ids(temporal_client, "operations"):
            await temporal_client.get_schedule_handle(schedule_id).delete()


async def test_errors_are_one_line_and_a_non_zero_exit(lanes_env: dict[str, str]) -> None:
    missing = await run_lanes(lanes_env, "pause", "no-such-schedule")
    assert missing.returncode == 1
    assert missing.stderr == (
        "lanes: error: no schedule 'no-such-schedule' on the server; "
        "`lanes schedules list` shows them\n"
    )

    backwards = await invoke(
        "backfill", "x", "--start", "2026-01-02T00:00:00", "--end", "2026-01-01"
    )
    assert backwards.exit_code == 2
    assert "--end (2026-01-01) must be after --start (2026-01-02T00:00:00)" in backwards.stderr
