"""The process-level entry points: configure a process, and what every Temporal client gets."""

from __future__ import annotations

import os
from typing import Any

from temporalio.contrib.opentelemetry import TracingInterceptor

from core.telemetry._logging import configure_logging
from core.telemetry._metrics import temporal_runtime
from core.telemetry._tracing import configure_tracing, shutdown_tracing

__all__ = ["client_options", "configure", "shutdown"]


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
