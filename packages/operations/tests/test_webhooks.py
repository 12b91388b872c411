"""Outbound webhooks against a real loopback receiver, on both databases: signed attempts,
retries on 5xx, 410 disables the endpoint, 400 is not retried, 429 waits ``Retry-After``."""

from __future__ import annotations

from typing import Any

import pytest
from operations_test_support import FAST_WEBHOOK_RETRY, Answer, Receiver
from sqlalchemy import select
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from core import db
from core.dev.testing import running_worker
from core.dispatch import JobFailedError, dispatch
from operations import store
from operations.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint


async def add_endpoint(receiver: Receiver) -> WebhookEndpoint:
    async with db.session() as s:
        endpoint = await store.add_endpoint(s, f"{receiver.url}/hooks")
    receiver.secret = endpoint.secret
    return endpoint


async def deliver(
    client: Client, queue: str, endpoint_id: int, message_id: str, **options: Any
) -> Any:
    job = await dispatch(
        "deliver_webhook",
        {
            "endpoint_id": endpoint_id,
            "event_type": "incident.opened",
            "data": {"monitor": 7},
            "message_id": message_id,
        },
        task_queue=queue,
        options=options or FAST_WEBHOOK_RETRY,
        client=client,
    )
    return await job.result()


def root_cause(err: BaseException) -> ApplicationError:
    if isinstance(err, JobFailedError):
        err = err.cause  # the activity's own error
    while err.__cause__ is not None:
        err = err.__cause__
    assert isinstance(err, ApplicationError), repr(err)
    return err


async def log_of(endpoint_id: int) -> tuple[WebhookDelivery, list[WebhookAttempt]]:
    async with db.session() as s:
        delivery = (
            await s.execute(
                select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint_id)
            )
        ).scalar_one()
        attempts = (
            await s.execute(
                select(WebhookAttempt)
                .where(WebhookAttempt.delivery_id == delivery.id)
                .order_by(WebhookAttempt.attempt)
            )
        ).scalars()
        return delivery, list(attempts)


async def test_500_500_200_is_three_signed_attempts_and_one_delivery(
    temporal_client: Client, task_queue: str, lanes_database: str, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(receiver)
    receiver.script = [500, 500, 200]
    async with running_worker(temporal_client, "operations", task_queue=task_queue):
        result = await deliver(temporal_client, task_queue, endpoint.id, "msg_1")
        assert result.attempt == 3
        # The same message again (a re-dispatch, a retried caller): nothing is sent.
        again = await deliver(temporal_client, task_queue, endpoint.id, "msg_1")
        assert again.already_delivered
    assert len(receiver.received) == 3
    assert all(r.verified for r in receiver.received)
    assert {r.headers["webhook-id"] for r in receiver.received} == {"msg_1"}
    assert receiver.received[0].body == b'{"data":{"monitor":7},"type":"incident.opened"}'
    delivery, attempts = await log_of(endpoint.id)
    assert (delivery.status, delivery.attempts, delivery.last_status_code) == ("delivered", 3, 200)
    assert [(a.attempt, a.status_code, a.outcome) for a in attempts] == [
        (1, 500, "retry"),
        (2, 500, "retry"),
        (3, 200, "delivered"),
    ]


async def test_410_disables_the_endpoint_and_is_not_retried(
    temporal_client: Client, task_queue: str, lanes_database: str, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(receiver)
    receiver.script = [410]
    async with running_worker(temporal_client, "operations", task_queue=task_queue):
        with pytest.raises(JobFailedError) as failed:
            await deliver(temporal_client, task_queue, endpoint.id, "msg_gone")
        assert root_cause(failed.value).type == "WebhookEndpointGone"
        with pytest.raises(JobFailedError) as refused:
            await deliver(temporal_client, task_queue, endpoint.id, "msg_after")
        assert root_cause(refused.value).type == "WebhookEndpointDisabled"
    assert len(receiver.received) == 1  # the second message was never sent
    async with db.session() as s:
        stored = await s.get(WebhookEndpoint, endpoint.id)
        assert stored is not None
        assert (stored.enabled, stored.disabled_reason) == (False, "410 Gone")


async def test_400_fails_once(
    temporal_client: Client, task_queue: str, lanes_database: str, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(receiver)
    receiver.script = [Answer(400, "bad payload")]
    async with running_worker(temporal_client, "operations", task_queue=task_queue):
        with pytest.raises(JobFailedError) as failed:
            await deliver(temporal_client, task_queue, endpoint.id, "msg_bad")
    error = root_cause(failed.value)
    assert error.type == "WebhookRejected"
    assert "HTTP 400: bad payload" in error.message
    assert len(receiver.received) == 1
    delivery, attempts = await log_of(endpoint.id)
    assert (delivery.status, delivery.attempts) == ("failed", 1)
    assert [(a.status_code, a.outcome) for a in attempts] == [(400, "failed")]


async def test_429_waits_for_retry_after(
    temporal_client: Client, task_queue: str, lanes_database: str, receiver: Receiver
) -> None:
    endpoint = await add_endpoint(receiver)
    receiver.script = [Answer(429, "slow down", headers={"Retry-After": "1"}), 200]
    # The policy's own backoff would be 2 minutes: only Retry-After can make this quick.
    slow = {"retry_policy": {"name": "webhook", "initial_interval": 120}}
    async with running_worker(temporal_client, "operations", task_queue=task_queue):
        result = await deliver(temporal_client, task_queue, endpoint.id, "msg_429", **slow)
    assert result.attempt == 2
    first, second = receiver.received
    assert second.at - first.at >= 0.9


async def test_a_timeout_is_retried(
    temporal_client: Client,
    task_queue: str,
    lanes_database: str,
    receiver: Receiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from operations.settings import operations_settings

    monkeypatch.setenv("LANES_OPERATIONS_WEBHOOK_TIMEOUT", "0.5")
    operations_settings.cache_clear()
    try:
        endpoint = await add_endpoint(receiver)
        receiver.script = [Answer(200, delay=2.0), 200]  # the first answer comes too late
        async with running_worker(temporal_client, "operations", task_queue=task_queue):
            result = await deliver(temporal_client, task_queue, endpoint.id, "msg_slow")
    finally:
        monkeypatch.undo()
        operations_settings.cache_clear()
    assert result.attempt == 2
    _, attempts = await log_of(endpoint.id)
    assert [(a.status_code, a.outcome) for a in attempts] == [(None, "retry"), (200, "delivered")]
    assert attempts[0].error is not None and "Timeout" in attempts[0].error
