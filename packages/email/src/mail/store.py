"""The email domain's reads and writes, shared by its activities and its CLI.

Every write is an upsert on a natural key or a conditional update, so repeating one (an activity
retried, a worker replaced) changes nothing the first did not.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import upsert
from mail.models import Campaign, CampaignRecipient, SendingDomain, SendLog, Suppression
from mail.warming import limit_at

__all__ = [
    "campaign_counts",
    "finish_campaign",
    "is_suppressed",
    "log_send",
    "pending_count",
    "pending_recipients",
    "raise_warming",
    "reserve_quota",
    "return_quota",
    "start_warming",
    "suppress",
    "suppressed_among",
    "today",
    "unsuppress",
    "update_recipients",
]


def today() -> str:
    """The UTC date warming counts by."""
    return datetime.now(UTC).date().isoformat()


async def is_suppressed(s: AsyncSession, address: str) -> Suppression | None:
    """The suppression entry of ``address``, if any."""
    return await s.get(Suppression, address.lower())


async def suppress(s: AsyncSession, address: str, reason: str, detail: str | None = None) -> None:
    """Add ``address`` to the suppression list (kept as it is when already there)."""
    row = {"address": address.lower(), "reason": reason, "detail": detail}
    await upsert(s, Suppression, [row], key=["address"], update=())


async def unsuppress(s: AsyncSession, address: str) -> bool:
    """Take ``address`` off the suppression list; returns whether it was on it."""
    row = await s.get(Suppression, address.lower())
    if row is None:
        return False
    await s.delete(row)
    return True


async def log_send(s: AsyncSession, key: str, **values: Any) -> None:
    """Write the sends-log row of ``key`` (the latest outcome wins)."""
    row = {"idempotency_key": key, **values}
    await upsert(s, SendLog, [row], key=["idempotency_key"])


async def campaign_counts(s: AsyncSession, campaign_id: int) -> dict[str, int]:
    """Recipients of a campaign by status (``pending``, ``sent``, ``skipped``, ``failed``)."""
    rows = await s.execute(
        select(CampaignRecipient.status, func.count())
        .where(CampaignRecipient.campaign_id == campaign_id)
        .group_by(CampaignRecipient.status)
    )
    counts = dict.fromkeys(("pending", "sent", "skipped", "failed"), 0)
    counts.update({status: n for status, n in rows.tuples()})
    return counts


async def pending_recipients(
    s: AsyncSession, campaign_id: int, limit: int
) -> list[CampaignRecipient]:
    """Up to ``limit`` pending recipients of a campaign, the least deferred first, then by id."""
    rows = await s.execute(
        select(CampaignRecipient)
        .where(
            CampaignRecipient.campaign_id == campaign_id,
            CampaignRecipient.status == "pending",
        )
        .order_by(CampaignRecipient.deferrals, CampaignRecipient.id)
        .limit(limit)
    )
    return list(rows.scalars().all())


async def pending_count(s: AsyncSession, campaign_id: int) -> int:
    """How many recipients of a campaign are still pending."""
    count = await s.scalar(
        select(func.count()).where(
            CampaignRecipient.campaign_id == campaign_id, CampaignRecipient.status == "pending"
        )
    )
    return int(count or 0)


async def suppressed_among(s: AsyncSession, addresses: list[str]) -> dict[str, str]:
    """The suppressed ones of ``addresses`` (lower-cased), each with its reason."""
    rows = await s.execute(
        select(Suppression.address, Suppression.reason).where(Suppression.address.in_(addresses))
    )
    return dict(rows.tuples().all())


async def update_recipients(s: AsyncSession, changes: list[dict[str, Any]]) -> None:
    """Write recipients' new values, each dict an ``id`` and the columns it sets (one statement)."""
    if changes:
        await s.execute(update(CampaignRecipient), changes)


async def finish_campaign(s: AsyncSession, campaign_id: int, status: str) -> None:
    """Record how a campaign ended (``completed`` or ``cancelled``), stamped now."""
    await s.execute(
        update(Campaign)
        .where(Campaign.id == campaign_id)
        .values(status=status, finished_at=datetime.now(UTC))
    )


async def start_warming(s: AsyncSession, domain: str) -> SendingDomain:
    """Put ``domain`` into warming at the first step of the ramp (kept when already warming)."""
    row = {
        "domain": domain.lower(),
        "ramp_step": 0,
        "daily_limit": limit_at(0),
        "day": today(),
        "sent_today": 0,
        "raised_on": today(),
    }
    await upsert(s, SendingDomain, [row], key=["domain"], update=())
    found = await s.get(SendingDomain, domain.lower())
    assert found is not None
    return found


async def raise_warming(s: AsyncSession, on: str) -> dict[str, int | None]:
    """Move every warming domain not raised on ``on`` one step up the ramp; returns each raised
    domain's new daily limit (``None``: warmed)."""
    rows = (
        await s.execute(
            select(SendingDomain).where(
                SendingDomain.daily_limit.is_not(None),
                (SendingDomain.raised_on.is_(None)) | (SendingDomain.raised_on != on),
            )
        )
    ).scalars()
    raised: dict[str, int | None] = {}
    for row in rows.all():
        step = row.ramp_step + 1
        # Conditional on the day: two schedule runs on one day raise a domain once.
        result = await s.execute(
            update(SendingDomain)
            .where(SendingDomain.domain == row.domain, SendingDomain.ramp_step == row.ramp_step)
            .values(ramp_step=step, daily_limit=limit_at(step), raised_on=on)
        )
        if getattr(result, "rowcount", 0) == 1:
            raised[row.domain] = limit_at(step)
    return raised


async def reserve_quota(s: AsyncSession, domain: str, wanted: int) -> int | None:
    """Reserve up to ``wanted`` of today's sends for ``domain``; returns how many were granted,
    or ``None`` when the domain is not warming (no limit).

    One conditional ``UPDATE`` per try, so two workers reserving at once never exceed the limit.
    """
    for _ in range(5):
        row = await s.get(SendingDomain, domain.lower(), populate_existing=True)
        if row is None or row.daily_limit is None:
            return None
        day = today()
        used = row.sent_today if row.day == day else 0
        granted = max(0, min(wanted, row.daily_limit - used))
        if granted == 0:
            return 0
        result = await s.execute(
            update(SendingDomain)
            .where(
                SendingDomain.domain == row.domain,
                SendingDomain.day == row.day,
                SendingDomain.sent_today == row.sent_today,
            )
            .values(day=day, sent_today=used + granted)
        )
        if getattr(result, "rowcount", 0) == 1:
            return granted
    return 0  # contended: the caller tries again after its pause


async def return_quota(s: AsyncSession, domain: str, unused: int) -> None:
    """Give back reserved sends that did not go out (suppressed, refused, none left)."""
    if unused <= 0:
        return
    await s.execute(
        update(SendingDomain)
        .where(
            SendingDomain.domain == domain.lower(),
            SendingDomain.day == today(),
            SendingDomain.sent_today >= unused,
        )
        .values(sent_today=SendingDomain.sent_today - unused)
    )
