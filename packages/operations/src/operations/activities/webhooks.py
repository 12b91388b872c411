"""``deliver_webhook``: POST one signed event to one endpoint, under ``WEBHOOK_RETRY``.

Every attempt is signed afresh (Standard Webhooks: ``webhook-id`` is the message id and stays the
same across attempts, so the receiver can de-duplicate; ``webhook-timestamp`` is the attempt's) and
written to the delivery log (``operations_webhook_attempts``) with its status code, outcome and
duration, whatever happens. What the answer means is :func:`operations.webhooks.outcome.classify`:

- 2xx: delivered; a later run of the same message to the same endpoint sends nothing again.
- 410 Gone: the receiver says the endpoint is gone for good: it is disabled (no further message
  is sent to it) and the error is not retried.
- other 4xx except 408 and 429: the receiver refuses this message; retrying cannot help.
- 429: retried after the receiver's ``Retry-After`` (``next_retry_delay``), else the policy's
  backoff; 408, 5xx, timeouts and refused connections: retried with the policy's backoff.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import activities, db
from operations.settings import operations_settings
from operations.webhooks import signing
from operations.webhooks.outcome import Outcome, classify

BODY = ("core.db.engine", "operations.store", "httpx")
"""What the activity's body imports on its first job (SQLAlchemy, httpx), not at worker start."""

__all__ = ["DeliverWebhookInput", "DeliveryResult", "deliver_webhook"]

ENDPOINT_NOT_FOUND = "WebhookEndpointNotFound"
ENDPOINT_DISABLED = "WebhookEndpointDisabled"
ENDPOINT_GONE = "WebhookEndpointGone"
REJECTED = "WebhookRejected"
FAILED = "WebhookDeliveryFailed"


class DeliverWebhookInput(pydantic.BaseModel):
    endpoint_id: int
    event_type: str
    """``incident.opened``, ``reminder.due``...: the body's ``type``."""
    data: dict[str, Any] = pydantic.Field(default_factory=dict)
    """The body's ``data``."""
    message_id: str
    """``webhook-id``: the same for every attempt and every re-dispatch of this message."""


class DeliveryResult(pydantic.BaseModel):
    delivery_id: int
    message_id: str
    status_code: int | None
    attempt: int
    already_delivered: bool = False
    """An earlier run delivered it; nothing was sent this time."""


@activities.defn(retry="webhook", start_to_close=timedelta(minutes=1))
async def deliver_webhook(input: DeliverWebhookInput) -> DeliveryResult:
    """Send one signed message to one endpoint; see the module docstring for the rules."""
    attempt = activity.info().attempt
    await activities.preload(*BODY)
    import httpx

    from operations import store
    from operations.models import WebhookEndpoint

    async with db.session() as s:
        endpoint = await s.get(WebhookEndpoint, input.endpoint_id)
        if endpoint is None:
            raise ApplicationError(
                f"webhook endpoint {input.endpoint_id} does not exist",
                type=ENDPOINT_NOT_FOUND,
                non_retryable=True,
            )
        delivery = await store.open_delivery(s, input.message_id, endpoint.id, input.event_type)
        url, secret, enabled, reason = (
            endpoint.url,
            endpoint.secret,
            endpoint.enabled,
            endpoint.disabled_reason,
        )
        delivery_id, status = delivery.id, delivery.status
        last_code = delivery.last_status_code
    if status == "delivered":
        return DeliveryResult(
            delivery_id=delivery_id,
            message_id=input.message_id,
            status_code=last_code,
            attempt=attempt,
            already_delivered=True,
        )
    if not enabled:
        await _record(delivery_id, attempt, None, "failed", f"endpoint disabled: {reason}", 0.0)
        raise ApplicationError(
            f"webhook endpoint {input.endpoint_id} is disabled ({reason}); enable it to deliver",
            type=ENDPOINT_DISABLED,
            non_retryable=True,
        )

    body = json.dumps(
        {"type": input.event_type, "data": input.data}, separators=(",", ":"), sort_keys=True
    ).encode()
    headers = signing.headers(secret, input.message_id, int(time.time()), body)
    started = time.perf_counter()
    code: int | None = None
    try:
        async with httpx.AsyncClient(
            timeout=operations_settings().webhook_timeout.total_seconds()
        ) as client:
            response = await client.post(url, content=body, headers=headers)
        code = response.status_code
        outcome = classify(code, response.headers.get("retry-after"), now=datetime.now(UTC))
        error = None if outcome.kind == "delivered" else f"HTTP {code}: {response.text[:300]}"
    except httpx.HTTPError as err:
        outcome = Outcome("retry")
        error = f"{type(err).__name__}: {err}"
    duration_ms = (time.perf_counter() - started) * 1000
    kind = outcome.kind
    if kind == "retry" and _last_attempt(attempt):
        kind = "failed"
    await _record(delivery_id, attempt, code, kind, error, duration_ms)
    if outcome.kind == "delivered":
        return DeliveryResult(
            delivery_id=delivery_id, message_id=input.message_id, status_code=code, attempt=attempt
        )
    if outcome.kind == "disabled":
        async with db.session() as s:
            await store.disable_endpoint(s, input.endpoint_id, "410 Gone")
        raise ApplicationError(
            f"{url} answered 410 Gone: endpoint {input.endpoint_id} is disabled",
            type=ENDPOINT_GONE,
            non_retryable=True,
        )
    if outcome.kind == "failed":
        raise ApplicationError(
            f"{url} refused the message: {error}", type=REJECTED, non_retryable=True
        )
    raise ApplicationError(
        f"delivery to {url} failed: {error}", type=FAILED, next_retry_delay=outcome.delay
    )


def _last_attempt(attempt: int) -> bool:
    policy = activity.info().retry_policy
    return policy is not None and 0 < policy.maximum_attempts <= attempt


async def _record(
    delivery_id: int,
    attempt: int,
    code: int | None,
    kind: str,
    error: str | None,
    duration_ms: float,
) -> None:
    """One attempt in the log and the delivery's state, in one transaction."""
    from operations import store  # loaded by the activity that calls this

    async with db.session() as s:
        await store.record_attempt(s, delivery_id, attempt, code, kind, error, duration_ms)
