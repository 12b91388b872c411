"""The pure rules: Standard Webhooks signatures, what an answer means, how a monitor moves."""

from __future__ import annotations

import base64
import hashlib
import hmac
from datetime import UTC, datetime, timedelta

import pytest

from operations.uptime.evaluate import Transition, evaluate, transition
from operations.webhooks import signing
from operations.webhooks.outcome import Outcome, classify, retry_after

NOW = datetime(2026, 12, 2, 12, 0, tzinfo=UTC)


def test_signature_is_standard_webhooks_v1() -> None:
    key = b"0123456789abcdef0123456789abcdef"
    secret = "whsec_" + base64.b64encode(key).decode()
    body = b'{"type":"x"}'
    expected = base64.b64encode(
        hmac.new(key, b"msg_1.1700000000." + body, hashlib.sha256).digest()
    ).decode()
    assert signing.sign(secret, "msg_1", 1700000000, body) == f"v1,{expected}"
    header = signing.sign(secret, "msg_1", 1700000000, body)
    assert signing.verify(secret, "msg_1", "1700000000", header, body, now=1700000010)
    assert not signing.verify(secret, "msg_1", "1700000000", header, body + b" ", now=1700000010)
    assert not signing.verify(secret, "msg_1", "1700000000", header, body, now=1700009999)
    with pytest.raises(ValueError, match="starts with 'whsec_'"):
        signing.sign("secret", "m", 1, b"")


@pytest.mark.parametrize(
    ("status", "header", "expected"),
    [
        (200, None, Outcome("delivered")),
        (204, None, Outcome("delivered")),
        (410, None, Outcome("disabled")),
        (400, None, Outcome("failed")),
        (404, None, Outcome("failed")),
        (408, None, Outcome("retry")),
        (429, "7", Outcome("retry", timedelta(seconds=7))),
        (429, None, Outcome("retry")),
        (500, None, Outcome("retry")),
        (503, "2", Outcome("retry")),
    ],
)
def test_classify(status: int, header: str | None, expected: Outcome) -> None:
    assert classify(status, header, now=NOW) == expected


def test_retry_after_reads_seconds_and_dates_and_caps_them() -> None:
    assert retry_after("Wed, 02 Dec 2026 12:00:30 GMT", now=NOW) == timedelta(seconds=30)
    assert retry_after("99999", now=NOW) == timedelta(hours=1)
    assert retry_after("soon", now=NOW) is None


def test_evaluate() -> None:
    assert evaluate(200, "ok", expected_status=200, keyword=None) is None
    assert evaluate(301, "", expected_status=200, keyword=None) == "HTTP 301, expected 200"
    assert evaluate(200, "ok", expected_status=200, keyword="healthy") == (
        "keyword 'healthy' not in the response"
    )
    assert evaluate(None, None, expected_status=200, keyword=None) == "no answer"


def test_three_failures_open_one_incident_and_a_success_resolves_it() -> None:
    state = ("unknown", 0)
    steps = []
    for ok in (False, False, False, False, True, True):
        step = transition(*state, ok=ok, threshold=3)
        steps.append(step)
        state = (step.status, step.consecutive_failures)
    assert steps == [
        Transition("up", 1),
        Transition("up", 2),
        Transition("down", 3, open_incident=True),
        Transition("down", 4),
        Transition("up", 0, resolve_incident=True),
        Transition("up", 0),
    ]
