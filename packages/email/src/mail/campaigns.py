"""Campaigns from Python and the shell: create one, then start and steer its workflow.

``create_campaign`` validates everything before it writes anything: the sender, every recipient
address, and each recipient's merged context against the template's model — so a campaign that
starts can only fail per recipient at the relay, never for its own input. The workflow of
campaign ``N`` is ``mail-campaign-N``; starting it twice starts it once.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession
from temporalio.client import Client, WorkflowHandle
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError

from core.client import get_client
from core.db import upsert
from mail.addresses import normalize, normalize_sender
from mail.models import Campaign, CampaignRecipient
from mail.settings import mail_settings
from mail.templating import validate_context
from mail.workflows.campaign import CampaignInput, CampaignProgress, CampaignWorkflow

__all__ = [
    "CampaignError",
    "campaign_handle",
    "create_campaign",
    "start_campaign",
    "workflow_id",
]


class CampaignError(ValueError):
    """A campaign that cannot be created as asked; the message says what to fix."""


def workflow_id(campaign_id: int) -> str:
    """The id of the campaign's workflow."""
    return f"mail-campaign-{campaign_id}"


async def create_campaign(
    s: AsyncSession,
    *,
    name: str,
    recipients: Iterable[str | tuple[str, Mapping[str, Any]]],
    template: str | None = None,
    context: Mapping[str, Any] | None = None,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    sender: str | None = None,
    rate_per_minute: int = 60,
) -> Campaign:
    """Validate and store a campaign with its recipients (addresses, or (address, context))."""
    if (template is None) == (subject is None or text is None):
        raise CampaignError("give either a template (with context), or subject and text")
    if rate_per_minute < 1:
        raise CampaignError(f"rate_per_minute must be at least 1, got {rate_per_minute}")
    shared = dict(context or {})
    rows: dict[str, dict[str, Any]] = {}
    try:
        from_ = normalize_sender(sender or mail_settings().mail_from)
        for item in recipients:
            address, own = (item, {}) if isinstance(item, str) else (item[0], dict(item[1]))
            address = normalize(address)
            if template is not None:
                try:
                    validate_context(template, {**shared, **own})
                except ApplicationError as err:
                    raise CampaignError(f"recipient {address}: {err.message}") from None
            rows[address.lower()] = {"address": address, "context": own}
    except ApplicationError as err:
        raise CampaignError(err.message) from None
    if not rows:
        raise CampaignError("a campaign needs at least one recipient")
    campaign = Campaign(
        name=name,
        sender=from_,
        template=template,
        context=shared,
        subject=subject,
        text=text,
        html=html,
        rate_per_minute=rate_per_minute,
        status="draft",
    )
    s.add(campaign)
    await s.flush()
    values = [{"campaign_id": campaign.id, **row} for row in rows.values()]
    for start in range(0, len(values), 1000):
        await upsert(
            s,
            CampaignRecipient,
            values[start : start + 1000],
            key=["campaign_id", "address"],
            update=(),
        )
    return campaign


async def start_campaign(
    campaign_id: int,
    *,
    client: Client | None = None,
    task_queue: str = "email",
    **options: Any,
) -> tuple[WorkflowHandle[Any, CampaignProgress], bool]:
    """Start the campaign's workflow; returns its handle and whether this call started it.

    ``options`` are :class:`~mail.workflows.campaign.CampaignInput` fields (``batch_size``,
    ``continue_as_new_after``, ``rate_per_minute``...).
    """
    client = client or await get_client()
    try:
        handle = await client.start_workflow(
            CampaignWorkflow.run,
            CampaignInput(campaign_id=campaign_id, **options),
            id=workflow_id(campaign_id),
            task_queue=task_queue,
        )
    except WorkflowAlreadyStartedError:
        return client.get_workflow_handle_for(CampaignWorkflow.run, workflow_id(campaign_id)), False
    return handle, True


async def campaign_handle(
    campaign_id: int, *, client: Client | None = None
) -> WorkflowHandle[Any, CampaignProgress]:
    """The handle of a campaign's workflow (for signals, the rate update, the progress query)."""
    client = client or await get_client()
    return client.get_workflow_handle_for(CampaignWorkflow.run, workflow_id(campaign_id))
