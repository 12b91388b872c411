"""Campaign activities: the :class:`~mail.workflows.CampaignWorkflow`'s hands on SMTP and the
database.

``send_campaign_batch`` sends up to ``limit`` pending recipients over a few SMTP connections, each
through :func:`mail.delivery.deliver` under the key ``campaign:<id>:<address>``, so a batch
retried after a crash (or a worker SIGKILLed mid-batch) never sends a recipient twice: the
recipients it already sent are no longer pending, and one sent but not yet marked is answered by
the ledger. Before sending it reserves the batch against the sending domain's warming limit.

A recipient's refusal never fails the batch: 5xx and bad input are recorded as ``failed``, a
suppressed address as ``skipped``, and a 4xx *defers* the recipient to the back of the queue
(it fails after :data:`MAX_DEFERRALS`). Only an unreachable relay or database fails the attempt,
and the batch is retried until it comes back (:data:`mail.errors.MAIL_CAMPAIGN`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pydantic
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import activities, db
from mail.addresses import domain_of, normalize_sender
from mail.errors import MAIL_CAMPAIGN, SMTP_TEMPORARY, invalid_campaign
from mail.settings import mail_settings

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from mail.delivery import Delivery
    from mail.models import Campaign, CampaignRecipient
    from mail.outcome import DeliveryOutcome
    from mail.smtp import SmtpConnection

BODY = ("core.db.engine", "mail.store", "mail.delivery")
"""What these activities' bodies import on their first job (SQLAlchemy, the SMTP client, the
templates), not at worker start."""

__all__ = [
    "MAX_DEFERRALS",
    "CampaignBatchInput",
    "CampaignBatchResult",
    "CampaignCounts",
    "CampaignRef",
    "CloseCampaignInput",
    "close_campaign",
    "open_campaign",
    "send_campaign_batch",
]

MAX_DEFERRALS = 5
"""Temporary refusals of one recipient before it is recorded as failed."""


class CampaignRef(pydantic.BaseModel):
    campaign_id: int


class CampaignCounts(pydantic.BaseModel):
    """Recipients by status, and the campaign's own rate."""

    total: int
    sent: int
    skipped: int
    failed: int
    remaining: int
    rate_per_minute: int


class CampaignBatchInput(pydantic.BaseModel):
    campaign_id: int
    limit: int = pydantic.Field(ge=1, le=1000)


class CampaignBatchResult(pydantic.BaseModel):
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    deferred: int = 0
    remaining: int = 0
    """Recipients still pending after this batch."""
    quota_exhausted: bool = False
    """The sending domain's warming limit for today is used up; nothing was sent."""

    @property
    def processed(self) -> int:
        return self.sent + self.skipped + self.failed + self.deferred


class CloseCampaignInput(pydantic.BaseModel):
    campaign_id: int
    status: str
    """``completed`` or ``cancelled``."""


@activities.defn(retry=MAIL_CAMPAIGN, start_to_close=timedelta(seconds=30))
async def open_campaign(input: CampaignRef) -> CampaignCounts:
    """Mark a campaign running and count its recipients."""
    await activities.preload(*BODY)
    from mail import store

    async with db.session() as s:
        campaign = await _campaign(s, input.campaign_id)
        if campaign.status == "draft":
            campaign.status = "running"
        counts = await store.campaign_counts(s, input.campaign_id)
    return _counts(campaign, counts)


@activities.defn(retry=MAIL_CAMPAIGN, start_to_close=timedelta(seconds=30))
async def close_campaign(input: CloseCampaignInput) -> CampaignCounts | None:
    """Record how a campaign ended; its final counts, from the recipients' rows.

    The rows are the truth: a batch whose attempt timed out while it still sent (a missed
    heartbeat on a busy worker) has its result dropped, and its retry reports the next batch's
    recipients, so the workflow's running sums can fall short. (``None`` only in histories
    recorded before it returned counts.)
    """
    await activities.preload(*BODY)
    from mail import store

    async with db.session() as s:
        campaign = await _campaign(s, input.campaign_id)
        await store.finish_campaign(s, input.campaign_id, input.status)
        counts = await store.campaign_counts(s, input.campaign_id)
    return _counts(campaign, counts)


@activities.defn(
    retry=MAIL_CAMPAIGN, start_to_close=timedelta(minutes=10), heartbeat=timedelta(seconds=30)
)
async def send_campaign_batch(input: CampaignBatchInput) -> CampaignBatchResult:
    """Send up to ``limit`` pending recipients of a campaign, within the warming limit."""
    config = mail_settings()
    result = CampaignBatchResult()
    await activities.preload(*BODY)
    from mail import store
    from mail.delivery import log_outcomes
    from mail.smtp import SmtpConnection

    async with db.session() as s:
        campaign = await _campaign(s, input.campaign_id)
        sender = normalize_sender(campaign.sender)
        domain = domain_of(sender)
        granted = await store.reserve_quota(s, domain, input.limit)
    if granted == 0:
        result.quota_exhausted = True
        result.remaining = await _pending(input.campaign_id)
        return result
    async with db.session() as s:
        recipients = await store.pending_recipients(
            s, input.campaign_id, input.limit if granted is None else granted
        )
    async with db.session() as s:
        suppressed = await store.suppressed_among(s, [r.address.lower() for r in recipients])
    changes: list[dict[str, Any]] = []
    logged: list[tuple[Delivery, DeliveryOutcome]] = []
    queue = iter(recipients)
    stop: list[BaseException] = []

    async def sender_loop() -> None:
        # Each loop has its own connection; a loop that fails stops the others from taking a
        # new recipient, but lets them finish the one in flight (a send cut off after the
        # relay's 250 would be sent again).
        async with SmtpConnection(config) as smtp:
            for recipient in queue:
                if stop:
                    return
                try:
                    values = await _send_one(campaign, recipient, sender, smtp, suppressed, logged)
                except BaseException as err:
                    stop.append(err)
                    raise
                changes.append({"id": recipient.id, "updated_at": datetime.now(UTC), **values})
                outcome = "deferred" if values["status"] == "pending" else str(values["status"])
                setattr(result, outcome, getattr(result, outcome) + 1)
                activity.heartbeat(len(changes))

    try:
        loops = min(config.mail_campaign_concurrency, len(recipients))
        ended = await asyncio.gather(*(sender_loop() for _ in range(loops)), return_exceptions=True)
        for error in [*stop, *ended]:
            if isinstance(error, BaseException):
                raise error
    finally:
        # What went out is written even when the batch stops half-way; a crash before this
        # leaves those recipients pending, and the retry gets their outcomes from the ledger.
        async with db.session() as s:
            await store.update_recipients(s, changes)
            await log_outcomes(s, logged)
            if granted is not None:
                await store.return_quota(s, domain, granted - result.sent)
    result.remaining = await _pending(input.campaign_id)
    return result


async def _send_one(
    campaign: Campaign,
    recipient: CampaignRecipient,
    sender: str,
    smtp: SmtpConnection,
    suppressed: dict[str, str],
    logged: list[tuple[Delivery, DeliveryOutcome]],
) -> dict[str, Any]:
    """The recipient row's new values after one send."""
    from mail.delivery import deliver, prepare  # loaded by the activity that calls this

    config = mail_settings()
    try:
        delivery = prepare(
            config,
            key=f"campaign:{campaign.id}:{recipient.address}",
            to=recipient.address,
            sender=sender,
            template=campaign.template,
            context={**(campaign.context or {}), **(recipient.context or {})},
            subject=campaign.subject,
            text=campaign.text,
            html=campaign.html,
            campaign_id=campaign.id,
        )
        outcome = await deliver(delivery, smtp, config, suppressed=suppressed)
    except ApplicationError as err:
        if err.non_retryable:  # bad context for this recipient: recorded, the batch goes on
            return {"status": "failed", "reason": err.message}
        if err.type != SMTP_TEMPORARY:
            raise  # the relay is unreachable: the whole batch retries
        if recipient.deferrals + 1 >= MAX_DEFERRALS:
            reason = f"gave up after {MAX_DEFERRALS} temporary refusals: {err.message}"
            return {"status": "failed", "reason": reason, "deferrals": recipient.deferrals + 1}
        return {"status": "pending", "reason": err.message, "deferrals": recipient.deferrals + 1}
    logged.append((delivery, outcome))
    return {"status": outcome.status, "reason": outcome.reason}


async def _campaign(s: AsyncSession, campaign_id: int) -> Campaign:
    from mail.models import Campaign  # loaded by the activity that calls this

    campaign = await s.get(Campaign, campaign_id)
    if campaign is None:
        raise invalid_campaign(f"campaign {campaign_id} does not exist")
    return campaign


def _counts(campaign: Campaign, by_status: dict[str, int]) -> CampaignCounts:
    return CampaignCounts(
        total=sum(by_status.values()),
        sent=by_status["sent"],
        skipped=by_status["skipped"],
        failed=by_status["failed"],
        remaining=by_status["pending"],
        rate_per_minute=campaign.rate_per_minute,
    )


async def _pending(campaign_id: int) -> int:
    from mail import store  # loaded by the activity that calls this

    async with db.session() as s:
        return await store.pending_count(s, campaign_id)
