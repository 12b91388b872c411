"""One message to one recipient, once per idempotency key: the heart of the email domain.

:func:`deliver` runs the send as core's ledger effect (``mail.send:<key>``):

1. the ledger claims the key (a repeat gets the recorded outcome back and nothing is sent);
2. a suppressed address is a recorded ``skipped`` outcome, not an error;
3. the relay's answer decides the rest: accepted → ``sent``; 5xx → ``failed``, recorded (and a
   550-class "no such user" suppresses the address); 4xx or an unreachable relay → the effect
   raises, the ledger releases the claim, and the activity's retry sends again.

Recorded outcomes are final: a later attempt, or another dispatch with the same key, returns
them. The one window the ledger cannot close is between the relay's 250 after DATA and the
ledger's record of it: a worker that dies there leaves a claim whose lease expires, and the next
attempt sends again — with the same ``Message-ID`` (:func:`mail.compose.message_id_for`), so a
relay or mailbox that deduplicates on it delivers one copy.

The sends log (``mail_sends``) is written (:func:`log_outcomes`) after the ledger has recorded
the outcome, in its own transaction — per batch for campaigns: a failure there, or a crash before
it, is retried without resending (the ledger answers).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta

import pydantic
from sqlalchemy.ext.asyncio import AsyncSession

from core import db
from core.db import ledger, upsert
from mail import store
from mail.compose import build_message, message_id_for, unsubscribe_url
from mail.models import SendLog
from mail.outcome import DeliveryOutcome
from mail.settings import MailSettings
from mail.smtp import SmtpConnection
from mail.templating import render

__all__ = ["Delivery", "DeliveryOutcome", "deliver", "log_outcomes", "prepare"]


class Delivery(pydantic.BaseModel):
    """A message ready to go: rendered, addressed, keyed."""

    key: str
    to: str
    sender: str
    subject: str
    text: str
    html: str | None = None
    campaign_id: int | None = None


def prepare(
    config: MailSettings,
    *,
    key: str,
    to: str,
    sender: str,
    template: str | None = None,
    context: dict[str, object] | None = None,
    subject: str | None = None,
    text: str | None = None,
    html: str | None = None,
    campaign_id: int | None = None,
) -> Delivery:
    """Render the template (or take the given parts); raises ``InvalidMessage`` on bad input."""
    if template is not None:
        link = unsubscribe_url(config.mail_unsubscribe_url, to, sender)
        rendered = render(template, dict(context or {}), unsubscribe_url=link)
        subject, text, html = rendered.subject, rendered.text, rendered.html
    assert subject is not None and text is not None
    return Delivery(
        key=key,
        to=to,
        sender=sender,
        subject=" ".join(subject.split()),
        text=text,
        html=html,
        campaign_id=campaign_id,
    )


async def deliver(
    delivery: Delivery,
    smtp: SmtpConnection,
    config: MailSettings,
    *,
    suppressed: Mapping[str, str] | None = None,
) -> DeliveryOutcome:
    """Send ``delivery`` once for its key; see the module docstring.

    ``suppressed`` (lower-cased address → reason) is the suppression list as read for a batch;
    without it the list is read for this one address. The outcome is not logged here: call
    :func:`log_outcomes` once the ledger has it.
    """
    message_id = message_id_for(delivery.key, delivery.sender)

    async def effect() -> DeliveryOutcome:
        outcome = DeliveryOutcome(
            status="sent", to=delivery.to, message_id=message_id, subject=delivery.subject
        )
        if suppressed is not None:
            reason = suppressed.get(delivery.to.lower())
        else:
            async with db.session() as s:
                entry = await store.is_suppressed(s, delivery.to)
            reason = entry.reason if entry is not None else None
        if reason is not None:
            return outcome.model_copy(
                update={"status": "skipped", "reason": f"suppressed ({reason})"}
            )
        message = build_message(
            to=delivery.to,
            sender=delivery.sender,
            subject=delivery.subject,
            text=delivery.text,
            html=delivery.html,
            message_id=message_id,
            unsubscribe=unsubscribe_url(config.mail_unsubscribe_url, delivery.to, delivery.sender),
        )
        refused = await smtp.send(message)  # 4xx / unreachable: raises, the claim is released
        if refused is None:
            return outcome
        if refused.verdict == "no_such_user":
            async with db.session() as s:
                await store.suppress(s, delivery.to, "hard_bounce", refused.describe())
        return outcome.model_copy(
            update={"status": "failed", "reason": refused.describe(), "smtp_code": refused.code}
        )

    outcome: DeliveryOutcome = await ledger.once(
        f"mail.send:{delivery.key}",
        effect,
        result_type=DeliveryOutcome,
        wait=timedelta(seconds=5),
        lease=config.mail_send_lease,
    )
    return outcome


async def log_outcomes(s: AsyncSession, sent: Sequence[tuple[Delivery, DeliveryOutcome]]) -> None:
    """Write the sends-log rows of outcomes the ledger has recorded (one statement)."""
    if not sent:
        return
    rows = [
        {
            "idempotency_key": d.key,
            "to_address": d.to,
            "subject": d.subject,
            "status": o.status,
            "message_id": o.message_id,
            "reason": o.reason,
            "campaign_id": d.campaign_id,
        }
        for d, o in sent
    ]
    await upsert(s, SendLog, rows, key=["idempotency_key"])
