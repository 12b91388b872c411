"""Reading the email tables in tests (through the process's ``LANES_DATABASE_URL``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from core import db
from mail.models import CampaignRecipient, SendLog, Suppression

FAST_RETRY: dict[str, Any] = {"retry_policy": {"name": "mail_send", "initial_interval": 0.2}}
"""Dispatch options: the send's own policy with a short backoff, so a retry comes at once."""


async def send_log(key: str) -> SendLog | None:
    async with db.session() as s:
        return (
            await s.execute(select(SendLog).where(SendLog.idempotency_key == key))
        ).scalar_one_or_none()


async def suppression(address: str) -> Suppression | None:
    async with db.session() as s:
        return await s.get(Suppression, address.lower())


async def recipient_statuses(campaign_id: int) -> dict[str, str]:
    async with db.session() as s:
        rows = await s.execute(
            select(CampaignRecipient.address, CampaignRecipient.status).where(
                CampaignRecipient.campaign_id == campaign_id
            )
        )
        return dict(rows.tuples().all())
