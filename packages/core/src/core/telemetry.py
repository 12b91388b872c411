"""Logging and tracing set-up for Lanes processes."""

from __future__ import annotations

import logging
import os

__all__ = ["configure"]


def configure(service_name: str) -> None:
    """Configure process-wide logging for ``service_name`` (idempotent)."""
    os.environ.setdefault("OTEL_SERVICE_NAME", service_name)
    root = logging.getLogger()
    if not root.handlers:
        logging.basicConfig(
            level=os.environ.get("LANES_LOG_LEVEL", "INFO").upper(),
            format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        )
