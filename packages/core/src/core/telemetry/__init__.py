"""Observability for Lanes processes: one trace per job, structured logs, metrics.

- :func:`configure` (called by every worker and ``lanes dev``): structlog logging
  (:mod:`._logging`), OpenTelemetry tracing from ``OTEL_*`` (:mod:`._tracing`).
- :func:`client_options`: what :func:`core.client.connect` adds to every client: Temporal's
  ``TracingInterceptor`` (workers inherit it from their client, so a dispatch in one process and
  the workflow and activity in another share one trace) and the runtime that exposes the SDK's
  metrics (:mod:`._metrics`).
- :class:`WorkerTelemetryInterceptor`: log context, one log line and metrics per finished
  activity attempt and per finished workflow (:mod:`._interceptor`).
- :func:`metrics_text`: what ``/metrics`` on the worker's health port serves.

See ``docs/observability.md`` for the operator's view.
"""

from __future__ import annotations

from core.redact import redact
from core.telemetry._configure import client_options, configure, shutdown, tracing_installed
from core.telemetry._errors import TelemetryConfigError
from core.telemetry._interceptor import WorkerTelemetryInterceptor
from core.telemetry._logging import NOISY_LOGGERS, configure_logging
from core.telemetry._metrics import (
    ACTIVITY_DURATION,
    ACTIVITY_FAILURES,
    DISPATCHES,
    METRICS_CONTENT_TYPE,
    MetricsConfigError,
    metrics_text,
    sdk_metrics_config,
    temporal_runtime,
)
from core.telemetry._tracing import (
    TracingConfigError,
    configure_tracing,
    instrument_sqlalchemy,
    tracer_provider,
)

__all__ = [
    "ACTIVITY_DURATION",
    "ACTIVITY_FAILURES",
    "DISPATCHES",
    "METRICS_CONTENT_TYPE",
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
    "metrics_text",
    "redact",
    "sdk_metrics_config",
    "shutdown",
    "temporal_runtime",
    "tracer_provider",
    "tracing_installed",
]
