"""Warming: the ramp moves one step a day, and reservations never exceed the day's limit."""

from __future__ import annotations

import asyncio

import pytest

from core import db
from core.schedules import Schedule
from mail import store
from mail.activities.warming import raise_warming_limits
from mail.models import SendingDomain
from mail.schedules import SCHEDULES
from mail.warming import RAMP, limit_at

pytestmark = pytest.mark.usefixtures("lanes_database")


def test_the_ramp_is_declared_and_scheduled() -> None:
    assert list(RAMP) == sorted(RAMP) and limit_at(0) == RAMP[0] and limit_at(len(RAMP)) is None
    [schedule] = SCHEDULES
    assert isinstance(schedule, Schedule) and schedule.target is raise_warming_limits


async def test_a_domain_moves_one_step_a_day_until_it_is_warmed() -> None:
    async with db.session() as s:
        await store.start_warming(s, "News.Example")
    assert (await raise_warming_limits()).raised == {}  # entered today: raised today already
    for step in range(1, len(RAMP) + 1):
        async with db.session() as s:
            assert {d: 0 for d in await store.raise_warming(s, f"day-{step}")} == {
                "news.example": 0
            }
            # The same day again: nothing moves.
            assert await store.raise_warming(s, f"day-{step}") == {}
        async with db.session() as s:
            row = await s.get(SendingDomain, "news.example")
            assert row is not None and (row.ramp_step, row.daily_limit) == (step, limit_at(step))
    async with db.session() as s:
        assert await store.raise_warming(s, "later") == {}  # warmed: no limit, no more steps


async def test_reservations_never_exceed_the_daily_limit() -> None:
    async with db.session() as s:
        await store.start_warming(s, "news.example")  # 50 a day

    async def reserve() -> int:
        async with db.session() as s:
            return await store.reserve_quota(s, "news.example", 12) or 0

    granted = await asyncio.gather(*(reserve() for _ in range(8)))
    assert sum(granted) <= RAMP[0]
    async with db.session() as s:
        row = await s.get(SendingDomain, "news.example")
        assert row is not None and row.sent_today == sum(granted)
        await store.return_quota(s, "news.example", 5)
    async with db.session() as s:
        assert await store.reserve_quota(s, "other.example", 10) is None  # not warming
        assert await store.reserve_quota(s, "news.example", 100) == RAMP[0] - sum(granted) + 5
