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


async def new_campaign(addresses: list[str], *, rate: int = 1_000_000, **kwargs: Any) -> int:
    """A newsletter campaign to ``addresses``; returns its id."""
    from mail.campaigns import create_campaign

    async with db.session() as s:
        campaign = await create_campaign(
            s,
            name="test",
            recipients=addresses,
            template="newsletter",
            context={"title": "News", "paragraphs": ["Hello."]},
            rate_per_minute=rate,
            **kwargs,
        )
    return campaign.id


async def wait_until(predicate: Any, timeout: float, what: str) -> Any:
    """Poll ``predicate`` (async) until it returns something truthy."""
    import asyncio
    import time

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.1)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


async def run_histories(client: Any, workflow_id: str, first_run_id: str) -> list[int]:
    """Event counts of every run of a workflow, following continue-as-new from the first run."""
    from temporalio.api.enums.v1 import EventType

    counts = []
    run_id: str | None = first_run_id
    while run_id:
        history = await client.get_workflow_handle(workflow_id, run_id=run_id).fetch_history()
        counts.append(len(history.events))
        last = history.events[-1]
        run_id = None
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            attributes = last.workflow_execution_continued_as_new_event_attributes
            run_id = attributes.new_execution_run_id
    return counts
