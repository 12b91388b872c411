"""core.redact: what counts as a secret in text, spans, exceptions and the SDK's DEBUG lines."""

import base64
import logging
import os
import secrets

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.api.common.v1 import Payload, Payloads
from temporalio.exceptions import ApplicationError

from core.redact import (
    REDACTED,
    environment_secrets,
    hide_sdk_payloads,
    redact_exception,
    redact_text,
    redact_url,
)
from core.telemetry._redact_spans import RedactingSpanProcessor


def test_card_numbers_only_when_luhn_valid() -> None:
    assert redact_text("card 4111 1111 1111 1111 ok") == f"card {REDACTED} ok"
    assert redact_text("card 5500-0000-0000-0004") == f"card {REDACTED}"
    assert redact_text("order 4111111111111112") == "order 4111111111111112"  # fails Luhn
    assert redact_text("epoch 1733159850123") == "epoch 1733159850123"


def test_token_like_strings_but_not_ids() -> None:
    key = base64.b64encode(os.urandom(32)).decode()
    for token in (key, "ghp_" + "a1B2" * 9, "sk-" + secrets.token_urlsafe(24), "xoxb-1234-abcdEF"):
        assert token not in redact_text(f"got {token} back"), token
    keep = (
        "3f2a9c1e0b7d4e6f8a9b0c1d2e3f4a5b6c7d8e9f",  # a sha
        "01a237c6-3973-78ed-9a3e-af176ac8f812",  # a run id
        "test_payloads_never_reach_the_server_in_-58ef1e48",
        "RunActivity:SingleActivityWorkflow",
    )
    for text in keep:
        assert redact_text(text) == text


def test_urls_and_assignments() -> None:
    assert redact_text("postgresql://app:hunter2@db/x") == "postgresql://app:***@db/x"
    assert "s3cr3t" not in redact_text("login failed: password=s3cr3t user=bob")
    shown = redact_url("postgresql://app:topsecret@db:5432/lanes?sslpassword=x2&sslmode=require")
    assert shown == "postgresql://app:***@db:5432/lanes?sslpassword=***&sslmode=require"


def test_values_of_secret_environment_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    plain = "lowercase-hex-" + secrets.token_hex(6)  # nothing about it looks secret
    monkeypatch.setenv("PARTNER_API_KEY", plain)
    monkeypatch.setenv("LANES_DATABASE_URL", f"postgresql://u:{plain}x@h/db")
    environment_secrets.cache_clear()
    try:
        assert redact_text(f"calling with {plain}") == f"calling with {REDACTED}"
        assert f"{plain}x" not in redact_text(f"pw {plain}x")
    finally:
        monkeypatch.undo()
        environment_secrets.cache_clear()


def test_exception_messages_and_their_causes() -> None:
    err = ApplicationError("failed for 4111111111111111", type="X")
    err.__cause__ = RuntimeError("upstream said Bearer abc.def.ghi")
    redact_exception(err)
    assert err.message == f"failed for {REDACTED}" and str(err) == f"X: {err.message}"
    assert str(err.__cause__) == f"upstream said Bearer {REDACTED}"


def test_spans_are_redacted_before_export() -> None:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(RedactingSpanProcessor(SimpleSpanProcessor(exporter)))
    tracer = provider.get_tracer("test")
    with tracer.start_as_current_span("GET") as span:
        span.set_attribute("http.url", "https://api/x?access_token=tok123456&page=2")
        span.set_attribute("auth_token", "anything")
        span.add_event("exception", {"exception.message": "card 4111 1111 1111 1111"})
    [done] = exporter.get_finished_spans()
    assert done.attributes is not None
    assert done.attributes["http.url"] == f"https://api/x?access_token={REDACTED}&page=2"
    assert done.attributes["auth_token"] == REDACTED
    assert done.events[0].attributes == {"exception.message": f"card {REDACTED}"}


def test_sdk_debug_lines_do_not_print_payloads(caplog: pytest.LogCaptureFixture) -> None:
    hide_sdk_payloads()
    logger = logging.getLogger("temporalio.worker._activity")
    completion = Payloads(payloads=[Payload(data=b"card-holder-jane")])
    with caplog.at_level(logging.DEBUG, logger="temporalio.worker._activity"):
        logger.debug("Completing activity with completion: %s", completion)
        logger.debug("Recording heartbeat with details %s", ["cursor-jane"])
    assert "jane" not in caplog.text
    assert "Payloads: payloads hidden" in caplog.text
