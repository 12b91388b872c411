"""Log lines as an operator reads them: JSON with the job's identifiers, secrets removed, a
readable format on a terminal, and workflow logging that does not repeat itself on replay."""

from __future__ import annotations

import importlib
import io
import json
import logging
import os
import select
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import structlog
from temporalio import workflow
from temporalio.client import Client
from temporalio.worker import Worker

from core import telemetry
from core.telemetry import WorkerTelemetryInterceptor, configure_logging

SUPPORT = Path(__file__).parent / "telemetry_support"


@pytest.fixture
def restore_logging() -> Iterator[None]:
    """configure_logging changes process-wide state; put the test process's back afterwards."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    config = structlog.get_config()
    on_message = workflow.logger.workflow_info_on_message
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)
    workflow.logger.workflow_info_on_message = on_message


@pytest.fixture
def json_log(restore_logging: None) -> io.StringIO:
    stream = io.StringIO()
    configure_logging(stream=stream, fmt="json", level="INFO")
    return stream


def lines(stream: io.StringIO) -> list[dict[str, Any]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_secrets_are_removed_and_emails_masked_in_every_kind_of_log_call(
    json_log: io.StringIO,
) -> None:
    secret, email = "tok_9f8e7d6c5b4a", "alice.smith@example.org"
    log = structlog.get_logger("test.redaction")
    log.info(
        "user signed in",
        user=email,
        password=secret,
        headers={"Authorization": f"Bearer {secret}", "Accept": "application/json"},
        callbacks=[f"https://hooks.example.org/cb?token={secret}&x=1"],
    )
    logging.getLogger("test.stdlib").warning(
        "retrying with api_key=%s for %s", secret, email, extra={"client_secret": secret}
    )
    try:
        raise RuntimeError(f"upstream refused Bearer {secret}")
    except RuntimeError:
        log.exception("call failed")

    output = json_log.getvalue()
    assert secret not in output
    assert email not in output
    structured, stdlib, failed = lines(json_log)
    assert structured["password"] == "[REDACTED]"
    assert structured["user"] == "a***@example.org"
    assert structured["headers"] == {
        "Authorization": "[REDACTED]",
        "Accept": "application/json",
    }
    assert structured["callbacks"] == ["https://hooks.example.org/cb?token=[REDACTED]&x=1"]
    assert stdlib["event"] == "retrying with api_key=[REDACTED] for a***@example.org"
    assert stdlib["client_secret"] == "[REDACTED]"
    assert stdlib["level"] == "warning"
    assert "upstream refused Bearer [REDACTED]" in failed["exception"]


def test_noisy_http_loggers_are_held_at_warning(json_log: io.StringIO) -> None:
    logging.getLogger("httpx").info("HTTP Request: GET https://api.example.org/?key=abc")
    logging.getLogger("httpcore.http11").info("send_request_headers.started")
    logging.getLogger("httpx").warning("something worth seeing")
    assert [line["event"] for line in lines(json_log)] == ["something worth seeing"]


def test_a_terminal_gets_readable_lines_and_a_pipe_gets_json(restore_logging: None) -> None:
    primary, secondary = os.openpty()
    try:
        with open(secondary, "w", closefd=False) as tty:
            configure_logging(stream=tty, fmt="auto")
            log = structlog.get_logger("test.tty")
            log.info("hello terminal", api_key="abc123")
            try:
                raise PermissionError("rejected token=abc123")
            except PermissionError:
                log.exception("call failed")
            tty.flush()
            shown = _read_all(primary)
    finally:
        os.close(primary)
        os.close(secondary)
    assert "hello terminal" in shown
    assert "\x1b[" in shown  # coloured
    assert not shown.lstrip().startswith("{")
    assert "PermissionError: rejected token=[REDACTED]" in shown
    assert "abc123" not in shown

    pipe = io.StringIO()
    configure_logging(stream=pipe, fmt="auto")
    structlog.get_logger("test.pipe").info("hello pipe")
    assert json.loads(pipe.getvalue())["event"] == "hello pipe"


def test_an_unknown_log_format_is_a_clear_error(restore_logging: None) -> None:
    with pytest.raises(ValueError, match=r"LANES_LOG_FORMAT='xml'.*'json', 'console' or 'auto'"):
        configure_logging(stream=io.StringIO(), fmt="xml")


async def test_workflow_logger_lines_carry_the_workflow_and_are_not_repeated_on_replay(
    json_log: io.StringIO,
    temporal_client: Client,
    task_queue: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.syspath_prepend(str(SUPPORT))
    chatty = importlib.import_module("lanes_chatty_workflow")
    worker = Worker(
        temporal_client,
        task_queue=task_queue,
        workflows=[chatty.ChattyWorkflow],
        activities=[chatty.echo],
        interceptors=[WorkerTelemetryInterceptor()],
        # No cache: the workflow's second task replays its first part from history.
        max_cached_workflows=0,
    )
    workflow_id = f"chatty-{uuid.uuid4()}"
    async with worker:
        handle = await temporal_client.start_workflow(
            chatty.ChattyWorkflow.run, "bob@example.com", id=workflow_id, task_queue=task_queue
        )
        assert await handle.result() == "hello"

    mine = [line for line in lines(json_log) if line.get("workflow_id") == workflow_id]
    events = [line["event"] for line in mine if line["logger"] == "temporalio.workflow"]
    assert events == [
        "before the activity for b***@example.com",
        "after the activity",
        "workflow finished",
    ]
    for line in mine:
        assert line["run_id"] == handle.result_run_id
        assert line["task_queue"] == task_queue
    after = next(line for line in mine if line["event"] == "after the activity")
    assert after["password"] == "[REDACTED]"
    assert after["workflow_type"] == "ChattyWorkflow"
    activity_end = next(line for line in mine if line["event"] == "activity finished")
    assert activity_end["activity"] == "chatty.echo"
    assert activity_end["outcome"] == "completed"
    assert "bob@example.com" not in json_log.getvalue()
    sys.modules.pop("lanes_chatty_workflow", None)


def test_the_tracing_interceptor_comes_with_a_tracer_provider() -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from temporalio.contrib.opentelemetry import TracingInterceptor

    if not telemetry.tracing_installed():
        # No provider: spans would be no-ops, and the interceptor would still cost CPU per job.
        assert "interceptors" not in telemetry.client_options()
        trace.set_tracer_provider(TracerProvider())
    assert telemetry.tracing_installed()
    options = telemetry.client_options()
    assert any(isinstance(i, TracingInterceptor) for i in options["interceptors"])


def _read_all(fd: int) -> str:
    """Everything written to a pty so far: one read may return only part of it."""
    chunks = []
    while select.select([fd], [], [], 0.5)[0]:
        chunk = os.read(fd, 65536)
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks).decode()
