"""``send_email`` against a real aiosmtpd server, the real dev server and both databases."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from mail_test_smtp import RecordingHandler
from mail_test_support import FAST_RETRY, send_log, suppression
from temporalio.client import Client
from temporalio.exceptions import ActivityError, ApplicationError

from core import db
from core.dev.testing import running_worker
from core.dispatch import JobFailedError, dispatch
from mail import store
from mail.sink import SmtpSink

WELCOME: dict[str, Any] = {
    "template": "welcome",
    "context": {"name": "Ada", "login_url": "https://app.example/login"},
}

pytestmark = pytest.mark.usefixtures("lanes_database", "mail_env")


def _handler(smtp_sink: tuple[SmtpSink, RecordingHandler]) -> RecordingHandler:
    return smtp_sink[1]


async def _failure(job: Any) -> ApplicationError:
    with pytest.raises(JobFailedError) as caught:
        await job.result()
    cause = caught.value.cause
    while isinstance(cause, ActivityError) or not isinstance(cause, ApplicationError):
        assert cause is not None and cause.cause is not None, caught.value
        cause = cause.cause
    return cause


async def test_one_key_dispatched_twice_and_retried_after_a_failure_sends_one_message(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    sink = _handler(smtp_sink)
    sink.refuse_data["ada@example.com"].append("451 4.3.0 Try again later")  # the first DATA
    message = {"to": "ada@example.com", "idempotency_key": "welcome:ada", **WELCOME}
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        first, second = await asyncio.gather(
            dispatch("send_email", message, task_queue=task_queue, options=FAST_RETRY),
            dispatch("send_email", message, task_queue=task_queue, options=FAST_RETRY),
        )
        results = await asyncio.gather(first.result(), second.result())
        # Long after: the ledger answers with the recorded outcome, nothing is sent.
        third = await dispatch("send_email", message, task_queue=task_queue)
        again = await third.result()

    [received] = sink.to("ada@example.com")
    assert sink.attempts["ada@example.com"] == 2  # refused once (4xx), then accepted
    assert received.subject == "Welcome to Lanes, Ada"
    assert {r.status for r in (*results, again)} == {"sent"}
    assert {r.message_id for r in (*results, again)} == {received.message_id}
    row = await send_log("welcome:ada")
    assert row is not None and (row.status, row.message_id) == ("sent", received.message_id)
    assert (sink.directory / "").is_dir() and len(list(sink.directory.glob("*.eml"))) == 1


async def test_a_suppressed_address_is_a_recorded_skip(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    async with db.session() as s:
        await store.suppress(s, "gone@example.com", "unsubscribed")
    message = {"to": "Gone@Example.com", "idempotency_key": "k-gone", "subject": "Hi", "text": "x"}
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        result = await (await dispatch("send_email", message, task_queue=task_queue)).result()
    assert (result.status, result.reason) == ("skipped", "suppressed (unsubscribed)")
    assert _handler(smtp_sink).attempts["gone@example.com"] == 0
    row = await send_log("k-gone")
    assert row is not None and row.status == "skipped"


async def test_no_such_user_fails_at_once_and_suppresses_the_address(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    sink = _handler(smtp_sink)
    sink.refuse_rcpt["ghost@example.com"] = "550 5.1.1 <ghost@example.com>: no such user"
    message = {
        "to": "ghost@example.com",
        "idempotency_key": "k-ghost",
        "subject": "Hi",
        "text": "x",
    }
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        error = await _failure(await dispatch("send_email", message, task_queue=task_queue))
        # The same key again: the recorded refusal, without asking the relay.
        again = await _failure(
            await dispatch("send_email", message, task_queue=task_queue, id=f"again-{task_queue}")
        )
        # Another key: the address is suppressed now.
        other = {**message, "idempotency_key": "k-ghost-2"}
        skipped = await (await dispatch("send_email", other, task_queue=task_queue)).result()

    assert (error.type, error.non_retryable) == ("SmtpRejected", True)
    assert "550" in error.message and "no such user" in error.message
    assert again.message == error.message
    assert sink.attempts["ghost@example.com"] == 1
    entry = await suppression("ghost@example.com")
    assert entry is not None and entry.reason == "hard_bounce"
    assert skipped.status == "skipped"
    row = await send_log("k-ghost")
    assert row is not None and row.status == "failed" and "550" in (row.reason or "")


async def test_a_permanent_refusal_fails_without_retry_and_without_suppressing(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    sink = _handler(smtp_sink)
    sink.refuse_data["spam@example.com"].append("554 5.7.1 Message rejected as spam")
    message = {"to": "spam@example.com", "idempotency_key": "k-spam", "subject": "Hi", "text": "x"}
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        error = await _failure(
            await dispatch("send_email", message, task_queue=task_queue, options=FAST_RETRY)
        )
    assert error.type == "SmtpRejected" and "554" in error.message
    assert sink.attempts["spam@example.com"] == 1
    assert await suppression("spam@example.com") is None


async def test_a_temporary_refusal_is_retried_until_the_attempts_run_out(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    sink = _handler(smtp_sink)
    sink.refuse_data["busy@example.com"] += ["452 4.2.2 Mailbox full"] * 2
    message = {"to": "busy@example.com", "idempotency_key": "k-busy", "subject": "Hi", "text": "x"}
    options = {**FAST_RETRY, "maximum_attempts": 2}
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        error = await _failure(
            await dispatch("send_email", message, task_queue=task_queue, options=options)
        )
        # Nothing was recorded under the key: a later dispatch sends it.
        later = await dispatch(
            "send_email", message, task_queue=task_queue, id=f"later-{task_queue}"
        )
        result = await later.result()
    assert error.type == "SmtpTemporaryFailure" and "452" in error.message
    assert sink.attempts["busy@example.com"] == 3
    assert result.status == "sent" and len(sink.to("busy@example.com")) == 1


@pytest.mark.parametrize(
    ("message", "error_type", "says"),
    [
        (
            {"to": "not-an-address", "subject": "Hi", "text": "x"},
            "InvalidAddress",
            "not-an-address",
        ),
        (
            {"to": "a@example.com", "template": "welcome", "context": {"name": "Ada"}},
            "InvalidMessage",
            "login_url",
        ),
    ],
)
async def test_bad_input_fails_at_once_with_the_reason(
    temporal_client: Client,
    task_queue: str,
    smtp_sink: tuple[SmtpSink, RecordingHandler],
    message: dict[str, Any],
    error_type: str,
    says: str,
) -> None:
    message = {**message, "idempotency_key": f"k-bad-{error_type}"}
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        job = await dispatch("send_email", message, task_queue=task_queue)
        error = await _failure(job)
    assert (error.type, error.non_retryable) == (error_type, True)
    assert says in error.message
    row = await send_log(message["idempotency_key"])
    assert row is not None and row.status == "failed" and says in (row.reason or "")


async def test_an_input_with_neither_template_nor_text_is_refused_at_the_call_site() -> None:
    from core._jobs import DispatchError

    with pytest.raises(DispatchError, match="subject and text"):
        await dispatch("send_email", {"to": "a@example.com", "idempotency_key": "k"})
