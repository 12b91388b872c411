"""structlog for every log line of a Lanes process, stdlib ``logging`` included.

One pipeline renders everything: lines from structlog loggers, from stdlib loggers (libraries,
``activity.logger``) and from ``workflow.logger`` all pass through the same processors, because the
root logger's handler uses structlog's ``ProcessorFormatter``. So each line carries:

- ``trace_id`` / ``span_id`` of the current OpenTelemetry span (when tracing is on);
- ``job_id`` (a dispatched job's id), ``workflow_id``, ``run_id``, ``activity``, ``attempt``,
  ``task_queue``: bound as structlog context variables by the worker interceptor for everything
  an activity logs, or lifted from the ``temporal_workflow`` / ``temporal_activity`` extras the
  SDK's loggers attach;
- ``service`` (``OTEL_SERVICE_NAME``), ``level``, ``logger``, ``timestamp`` (UTC, ISO 8601);

and then goes through redaction (:mod:`core.redact`) before rendering: JSON lines in production,
coloured key=value output when stderr is a terminal (``LANES_LOG_FORMAT`` = ``json``,
``console`` or ``auto``).

Workflow code logs through ``workflow.logger``: the SDK drops its lines during replay, so a
workflow that is replayed on another worker does not log its past again. The SDK's habit of
appending the workflow info dict to the message text is turned off; the same facts are fields.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import MutableMapping
from typing import IO, Any

from opentelemetry import trace
from temporalio import activity, workflow

from core.redact import hide_sdk_payloads, redact_processor
from core.telemetry._errors import TelemetryConfigError
from core.telemetry._structlog import structlog

__all__ = ["NOISY_LOGGERS", "configure_logging"]

NOISY_LOGGERS = (
    "httpx",
    "httpcore",
    "urllib3",
    "aiohttp.access",
    "hpack",
    "alembic.runtime.plugins",
)
"""Loggers held at WARNING: at INFO they print every request's full URL (query tokens included),
or (Alembic's plugin set-up) a dozen lines of nothing at every worker start."""

_HANDLER_NAME = "lanes"


def add_trace_context(_: Any, __: str, event: MutableMapping[str, Any]) -> Any:
    """Add the current span's ``trace_id`` and ``span_id`` (hex, as backends show them)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event.setdefault("trace_id", format(context.trace_id, "032x"))
        event.setdefault("span_id", format(context.span_id, "016x"))
    return event


def lift_temporal_fields(_: Any, __: str, event: MutableMapping[str, Any]) -> Any:
    """Turn the SDK loggers' ``temporal_workflow``/``temporal_activity`` extras into fields."""
    for key in [k for k in event if k.startswith("__")]:
        del event[key]  # the SDK's private markers (``__temporal_error_identifier``)
    details = event.pop("temporal_workflow", None)
    if isinstance(details, dict):
        event.setdefault("workflow_id", details.get("workflow_id"))
        event.setdefault("run_id", details.get("run_id"))
        event.setdefault("workflow_type", details.get("workflow_type"))
        event.setdefault("task_queue", details.get("task_queue"))
        event.setdefault("attempt", details.get("attempt"))
        if "update_id" in details:
            event.setdefault("update_id", details["update_id"])
    details = event.pop("temporal_activity", None)
    if isinstance(details, dict):
        event.setdefault("job_id", details.get("workflow_id") or details.get("activity_id"))
        event.setdefault("workflow_id", details.get("workflow_id"))
        event.setdefault("run_id", details.get("workflow_run_id"))
        event.setdefault("activity", details.get("activity_type"))
        event.setdefault("attempt", details.get("attempt"))
        event.setdefault("task_queue", details.get("task_queue"))
    return event


def _service_adder(service: str | None) -> Any:
    def add_service(_: Any, __: str, event: MutableMapping[str, Any]) -> Any:
        if service:
            event.setdefault("service", service)
        return event

    return add_service


def _shared_processors() -> list[Any]:
    """What both structlog and stdlib records go through before the final rendering."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        lift_temporal_fields,
        add_trace_context,
        _service_adder(os.environ.get("OTEL_SERVICE_NAME")),
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]


def _wants_console(stream: IO[str], fmt: str) -> bool:
    if fmt not in ("auto", "json", "console"):
        raise TelemetryConfigError(
            f"LANES_LOG_FORMAT={fmt!r} is not a log format; use 'json', 'console' or 'auto' "
            "(console on a terminal, JSON otherwise)"
        )
    if fmt == "auto":
        return bool(getattr(stream, "isatty", lambda: False)())
    return fmt == "console"


def configure_logging(
    *, stream: IO[str] | None = None, fmt: str | None = None, level: str | int | None = None
) -> None:
    """Route all logging through structlog; safe to call again (it replaces its own handler).

    Args:
        stream: Where lines go. Default: stderr.
        fmt: ``json``, ``console`` or ``auto``. Default: ``LANES_LOG_FORMAT`` or ``auto``.
        level: Root level. Default: ``LANES_LOG_LEVEL`` or ``INFO``.
    """
    stream = stream or sys.stderr
    if fmt is None or level is None:
        # Read afresh (not the cached settings()): tests and `lanes dev` reconfigure logging
        # after changing the environment. A bad value is a SettingsError naming the variable.
        from core.settings import LanesSettings, load_settings

        config = load_settings(LanesSettings)
        fmt = fmt or config.log_format
        level = level or config.log_level
    fmt = fmt.lower()
    level = level.upper() if isinstance(level, str) else level
    console = _wants_console(stream, fmt)
    shared = _shared_processors()
    renderer: Any = (
        structlog.dev.ConsoleRenderer(colors=True)
        if console
        else structlog.processors.JSONRenderer(default=str)
    )
    final: list[Any] = [
        structlog.stdlib.ProcessorFormatter.remove_processors_meta,
        structlog.processors.StackInfoRenderer(),
        # Tracebacks become text before redaction, so a secret in an exception message is
        # removed on a terminal too (at the price of plain rather than pretty tracebacks there).
        structlog.processors.format_exc_info,
        redact_processor,
        renderer,
    ]
    formatter = structlog.stdlib.ProcessorFormatter(foreign_pre_chain=shared, processors=final)
    handler = logging.StreamHandler(stream)
    handler.set_name(_HANDLER_NAME)
    handler.setFormatter(formatter)

    root = logging.getLogger()
    for old in [h for h in root.handlers if h.get_name() == _HANDLER_NAME]:
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    for name in NOISY_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)
    hide_sdk_payloads()  # LANES_LOG_LEVEL=DEBUG must not print payloads in clear

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    # The same facts arrive as fields (lift_temporal_fields); in the message they would only
    # duplicate them and defeat grouping by message.
    workflow.logger.workflow_info_on_message = False
    activity.logger.activity_info_on_message = False
