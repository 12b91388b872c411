"""The one error type for telemetry settings a process cannot honour."""

from __future__ import annotations

__all__ = ["TelemetryConfigError"]


class TelemetryConfigError(ValueError):
    """An ``OTEL_*`` or ``LANES_LOG_*`` variable asks for something Lanes cannot do.

    The message names the variable and what to set instead; the worker and the CLI print it as
    one line and exit 1.
    """
