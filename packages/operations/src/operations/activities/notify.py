"""``notify``: tell people and systems about an event, by dispatch — never by importing a domain.

One notification fans out to an email per recipient (the mail domain's ``send_email``, dispatched
by name on ``LANES_OPERATIONS_EMAIL_QUEUE`` with ``to``, ``subject``, ``text`` and
``idempotency_key``) and a signed webhook per enabled endpoint that wants the event type
(:func:`operations.activities.webhooks.deliver_webhook` on this queue). Every dispatch's id is
derived from the notification's ``key``, so running it again — an activity retry, a workflow
replayed after a crash, the uptime outbox flushed twice — starts nothing new.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

import pydantic
from temporalio import activity

from core import activities, db
from core.dispatch import dispatch
from operations import TASK_QUEUE
from operations.activities.webhooks import DeliverWebhookInput, deliver_webhook
from operations.settings import operations_settings

STORE = ("core.db.engine", "operations.store")
"""What reading the webhook endpoints imports on first use (SQLAlchemy), not at worker start."""

__all__ = ["NotifyInput", "NotifyResult", "notify", "send_notification"]


class NotifyInput(pydantic.BaseModel):
    key: str
    """Idempotency key of this notification (``incident-7-opened``): one send per key."""
    event_type: str
    """Webhook ``type`` and what endpoints subscribe to (``incident.opened``)."""
    subject: str
    text: str
    data: dict[str, Any] = pydantic.Field(default_factory=dict)
    """The webhook body's ``data``."""
    emails: list[str] = pydantic.Field(default_factory=list)
    """Recipients. Default: nobody by email (``LANES_OPERATIONS_ALERT_EMAILS`` is the caller's
    fallback to apply)."""
    webhooks: bool = True
    """Also deliver to the subscribed webhook endpoints. Default: true."""


class NotifyResult(pydantic.BaseModel):
    emails: int = 0
    """Email jobs this call started (duplicates of an earlier call are not counted)."""
    webhooks: int = 0


@activities.defn(start_to_close=timedelta(minutes=1))
async def notify(input: NotifyInput) -> NotifyResult:
    """Dispatch the emails and webhooks of one notification; safe to repeat."""
    queue = activity.info().task_queue if activity.in_activity() else TASK_QUEUE
    return await send_notification(input, webhook_queue=queue)


async def send_notification(input: NotifyInput, *, webhook_queue: str) -> NotifyResult:
    """:func:`notify`'s work, for activities of this domain that notify as part of their own."""
    result = NotifyResult()
    email_queue = operations_settings().email_queue
    for address in dict.fromkeys(input.emails):
        digest = hashlib.sha256(address.lower().encode()).hexdigest()[:16]
        job = await dispatch(
            "send_email",
            {
                "to": address,
                "subject": input.subject,
                "text": input.text,
                "idempotency_key": _bounded(f"operations:{input.key}:{digest}"),
            },
            task_queue=email_queue,
            id=f"operations-notify-{input.key}-email-{digest}",
        )
        result.emails += job.started
    if not input.webhooks:
        return result
    await activities.preload(*STORE)
    from operations import store

    async with db.session() as s:
        endpoints = await store.enabled_endpoints(s)
    for endpoint_id, event_types in endpoints:
        if event_types and input.event_type not in event_types:
            continue
        job = await dispatch(
            deliver_webhook,
            DeliverWebhookInput(
                endpoint_id=endpoint_id,
                event_type=input.event_type,
                data=input.data,
                message_id=f"msg_{input.key}",
            ),
            task_queue=webhook_queue,
            id=f"operations-notify-{input.key}-webhook-{endpoint_id}",
        )
        result.webhooks += job.started
    return result


def _bounded(key: str, limit: int = 200) -> str:
    """``key`` itself when short enough (send_email takes up to 200 characters), else a digest."""
    if len(key) <= limit:
        return key
    return "operations:sha256:" + hashlib.sha256(key.encode()).hexdigest()
