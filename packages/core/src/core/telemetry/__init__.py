"""Observability for Lanes processes: one trace per job, structured logs, metrics.

- :func:`configure` (called by every worker and ``lanes dev``): structlog logging
  (:mod:`._logging`), OpenTelemetry tracing from ``OTEL_*`` (:mod:`._tracing`).
- :func:`client_options`: what :func:`core.client.connect` adds to every client: Temporal's
  ``TracingInterceptor`` (workers inherit it from their client, so a dispatch in one process and
  the workflow and activity in another share one trace) and the runtime that exposes the SDK's
  metrics (:mod:`._metrics`).
- :class:`WorkerTelemetryInterceptor`: log context, one log line and metrics per finished
  activity attempt and per finished workflow (:mod:`._interceptor`).
- :func:`metrics_endpoint`: ``/metrics`` on the worker's health port.

See ``docs/observability.md`` for the operator's view.
"""

from __future__ import annotations

import os
from typing import Any

from temporalio.contrib.opentelemetry import TracingInterceptor

from core.telemetry._errors import TelemetryConfigError
from core.telemetry._interceptor import WorkerTelemetryInterceptor
from core.telemetry._logging import NOISY_LOGGERS, configure_logging
from core.telemetry._metrics import (
    ACTIVITY_DURATION,
    ACTIVITY_FAILURES,
    DISPATCHES,
    MetricsConfigError,
    metrics_endpoint,
    metrics_text,
    sdk_metrics_config,
    temporal_runtime,
)
from core.telemetry._redact import redact
from core.telemetry._tracing import (
    TracingConfigError,
    configure_tracing,
    instrument_sqlalchemy,
    shutdown_tracing,
    tracer_provider,
)

__all__ = [
    "ACTIVITY_DURATION",
    "ACTIVITY_FAILURES",
    "DISPATCHES",
    "NOISY_LOGGERS",
    "MetricsConfigError",
    "TelemetryConfigError",
    "TracingConfigError",
    "WorkerTelemetryInterceptor",
    "client_options",
    "configure",
    "configure_logging",
    "configure_tracing",
    "instrument_sqlalchemy",
    "metrics_endpoint",
    "metrics_text",
    "redact",
    "sdk_metrics_config",
    "shutdown",
    "temporal_runtime",
    "tracer_provider",
]


def configure(service_name: str) -> None:
    """Set up logging and tracing for ``service_name`` (e.g. ``lanes-sync``); idempotent.

    ``OTEL_SERVICE_NAME``, when set, wins over ``service_name``.
    """
    os.environ.setdefault("OTEL_SERVICE_NAME", service_name)
    configure_logging()
    configure_tracing(service_name)


def client_options() -> dict[str, Any]:
    """Keyword arguments for ``Client.connect``: the tracing interceptor and the runtime."""
    options: dict[str, Any] = {"interceptors": [TracingInterceptor()]}
    runtime = temporal_runtime()
    if runtime is not None:
        options["runtime"] = runtime
    return options


def shutdown() -> None:
    """Flush spans still buffered; call before the process ends (``core.worker`` does)."""
    shutdown_tracing()
