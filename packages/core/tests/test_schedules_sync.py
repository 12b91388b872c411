"""sync_schedules against the real dev server: create, keep, update in place, prune, race."""

from __future__ import annotations

import asyncio
import subprocess
import uuid
from datetime import timedelta

import pytest
from temporalio.client import Client, ScheduleDescription, ScheduleIntervalSpec

from core.dev.server import DevServer, temporal_binary
from core.schedules import (
    Schedule,
    declaration_memo,
    describe_or_none,
    owned_schedule_ids,
    owner_of,
    sync_schedules,
)


@pytest.fixture
def owner() -> str:
    """An owner (domain name) no other test uses, so tests never see each other's schedules."""
    return f"test-{uuid.uuid4().hex[:8]}"


def ping_every(schedule_id: str, minutes: int, **kwargs: object) -> Schedule:
    return Schedule(
        id=schedule_id,
        target="lanes.ping",
        task_queue="nobody-polls-this",
        every=timedelta(minutes=minutes),
        **kwargs,  # type: ignore[arg-type]
    )


async def describe(client: Client, schedule_id: str) -> ScheduleDescription:
    return await client.get_schedule_handle(schedule_id).describe()


async def exists(client: Client, schedule_id: str) -> bool:
    return await describe_or_none(client.get_schedule_handle(schedule_id)) is not None


async def listed(client: Client, owner: str, ids: list[str]) -> None:
    """Wait until the server's schedule list shows ``ids``: listing is eventually consistent,
    and only listed schedules can be found for deletion."""
    async with asyncio.timeout(10):
        while not set(ids) <= set(await owned_schedule_ids(client, owner)):
            await asyncio.sleep(0.05)


async def test_first_sync_creates_and_second_sync_changes_nothing(
    temporal_client: Client, owner: str
) -> None:
    declared = [ping_every(f"{owner}.a", 5), ping_every(f"{owner}.b", 7, description="b things")]

    first = await sync_schedules(temporal_client, declared, owner=owner)

    assert sorted(first.created) == [f"{owner}.a", f"{owner}.b"]
    assert (first.updated, first.unchanged, first.deleted) == ([], [], [])
    b = await describe(temporal_client, f"{owner}.b")
    assert await owner_of(b) == owner
    assert b.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(minutes=7))]
    assert b.schedule.state.note == "b things"
    assert b.schedule.action.workflow == "SingleActivityWorkflow"  # type: ignore[attr-defined]
    assert b.schedule.action.task_queue == "nobody-polls-this"  # type: ignore[attr-defined]
    token = b.raw_description.conflict_token

    second = await sync_schedules(temporal_client, declared, owner=owner)

    assert sorted(second.unchanged) == [f"{owner}.a", f"{owner}.b"]
    assert (second.created, second.updated, second.deleted) == ([], [], [])
    after = await describe(temporal_client, f"{owner}.b")
    # The conflict token changes with every update the server accepts: none was made.
    assert after.raw_description.conflict_token == token
    assert after.info.last_updated_at == b.info.last_updated_at


async def test_changed_interval_updates_in_place_and_keeps_an_operators_pause(
    temporal_client: Client, owner: str
) -> None:
    schedule_id = f"{owner}.report"
    await sync_schedules(temporal_client, [ping_every(schedule_id, 5)], owner=owner)
    created = await describe(temporal_client, schedule_id)
    await temporal_client.get_schedule_handle(schedule_id).pause(note="investigating outage")

    summary = await sync_schedules(temporal_client, [ping_every(schedule_id, 9)], owner=owner)

    assert summary.updated == [schedule_id]
    updated = await describe(temporal_client, schedule_id)
    assert updated.schedule.spec.intervals == [ScheduleIntervalSpec(every=timedelta(minutes=9))]
    assert updated.schedule.state.paused
    assert updated.schedule.state.note == "investigating outage"
    assert updated.info.created_at == created.info.created_at  # the same schedule, not a new one
    assert (await declaration_memo(temporal_client, updated))["spec"] == "every 0:09:00"


async def test_a_pause_declared_in_code_is_applied_and_lifted_by_the_code(
    temporal_client: Client, owner: str
) -> None:
    schedule_id = f"{owner}.paused"
    await sync_schedules(temporal_client, [ping_every(schedule_id, 5)], owner=owner)

    await sync_schedules(temporal_client, [ping_every(schedule_id, 5, paused=True)], owner=owner)
    assert (await describe(temporal_client, schedule_id)).schedule.state.paused

    await sync_schedules(temporal_client, [ping_every(schedule_id, 5)], owner=owner)
    assert not (await describe(temporal_client, schedule_id)).schedule.state.paused


async def test_removed_declaration_is_deleted_and_nothing_else_is_touched(
    temporal_client: Client, temporal_server: DevServer, owner: str
) -> None:
    other_owner = f"{owner}-other"
    by_hand = f"{owner}.by-hand"
    await sync_schedules(
        temporal_client,
        [ping_every(f"{owner}.keep", 5), ping_every(f"{owner}.drop", 5)],
        owner=owner,
    )
    await sync_schedules(
        temporal_client, [ping_every(f"{other_owner}.theirs", 5)], owner=other_owner
    )
    await listed(temporal_client, owner, [f"{owner}.keep", f"{owner}.drop"])
    subprocess.run(
        [
            str(temporal_binary()),
            "schedule",
            "create",
            "--address",
            temporal_server.address,
            "--schedule-id",
            by_hand,
            "--workflow-id",
            by_hand,
            "--task-queue",
            "nobody-polls-this",
            "--type",
            "SomeWorkflow",
            "--interval",
            "1h",
        ],
        check=True,
        capture_output=True,
        timeout=30,
    )
    hand_made = await describe(temporal_client, by_hand)

    summary = await sync_schedules(
        temporal_client,
        # A declaration that collides with the hand-made schedule is reported, not applied.
        [ping_every(f"{owner}.keep", 5), ping_every(by_hand, 5)],
        owner=owner,
    )

    assert summary.deleted == [f"{owner}.drop"]
    assert summary.unchanged == [f"{owner}.keep"]
    assert list(summary.conflicts) == [by_hand]
    assert "no Lanes owner" in summary.conflicts[by_hand]
    assert not await exists(temporal_client, f"{owner}.drop")
    assert await exists(temporal_client, f"{owner}.keep")
    assert await exists(temporal_client, f"{other_owner}.theirs")
    untouched = await describe(temporal_client, by_hand)
    assert untouched.raw_description.conflict_token == hand_made.raw_description.conflict_token
    assert untouched.schedule.action.workflow == "SomeWorkflow"  # type: ignore[attr-defined]

    # An empty list removes everything the owner made, and still only that.
    emptied = await sync_schedules(temporal_client, [], owner=owner)
    assert emptied.deleted == [f"{owner}.keep"]
    assert await exists(temporal_client, f"{other_owner}.theirs")
    assert await exists(temporal_client, by_hand)


async def test_dry_run_reports_the_plan_and_changes_nothing(
    temporal_client: Client, owner: str
) -> None:
    await sync_schedules(
        temporal_client,
        [ping_every(f"{owner}.same", 5), ping_every(f"{owner}.old", 5)],
        owner=owner,
    )
    before = await describe(temporal_client, f"{owner}.same")
    await listed(temporal_client, owner, [f"{owner}.same", f"{owner}.old"])

    plan = await sync_schedules(
        temporal_client,
        [ping_every(f"{owner}.same", 6), ping_every(f"{owner}.new", 5)],
        owner=owner,
        dry_run=True,
    )

    assert (plan.created, plan.updated, plan.deleted) == (
        [f"{owner}.new"],
        [f"{owner}.same"],
        [f"{owner}.old"],
    )
    assert plan.lines() == [
        f"create    {owner}.new",
        f"update    {owner}.same",
        f"delete    {owner}.old",
    ]
    assert not await exists(temporal_client, f"{owner}.new")
    assert await exists(temporal_client, f"{owner}.old")
    after = await describe(temporal_client, f"{owner}.same")
    assert after.raw_description.conflict_token == before.raw_description.conflict_token


async def test_concurrent_syncs_of_the_same_list_converge_without_errors(
    temporal_client: Client, owner: str
) -> None:
    ids = [f"{owner}.{i}" for i in range(4)]

    first = await asyncio.gather(
        *(
            sync_schedules(temporal_client, [ping_every(i, 5) for i in ids], owner=owner)
            for _ in "ab"
        )
    )
    # Each schedule was created by exactly one of the two; the other found it in place.
    assert sorted(first[0].created + first[1].created) == ids
    assert sorted(first[0].created + first[0].unchanged) == ids
    await listed(temporal_client, owner, ids)

    await asyncio.gather(
        *(
            sync_schedules(temporal_client, [ping_every(i, 8) for i in ids[:2]], owner=owner)
            for _ in "ab"
        )
    )
    for schedule_id in ids[:2]:
        spec = (await describe(temporal_client, schedule_id)).schedule.spec
        assert spec.intervals == [ScheduleIntervalSpec(every=timedelta(minutes=8))]
    for schedule_id in ids[2:]:
        assert not await exists(temporal_client, schedule_id)
    again = await sync_schedules(temporal_client, [ping_every(i, 8) for i in ids[:2]], owner=owner)
    assert sorted(again.unchanged) == ids[:2]
