"""Failures whose message is written for people: shown as they are, without a traceback.

The CLI prints them as one ``lanes: error: ...`` line and the worker bootstrap logs them and exits
1; anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

from core._jobs import DispatchError
from core.client import TemporalUnavailable
from core.db.errors import DatabaseError
from core.dev.server import DevServerError
from core.domains import DomainError
from core.settings import SettingsError
from core.telemetry import TelemetryConfigError

__all__ = ["EXPECTED_ERRORS", "STARTUP_ERRORS"]

EXPECTED_ERRORS: tuple[type[Exception], ...] = (
    DispatchError,
    TemporalUnavailable,
    DomainError,
    DevServerError,
    SettingsError,
    TelemetryConfigError,
    DatabaseError,
)
"""Every error type with a message that says what was wrong and what to do."""

STARTUP_ERRORS: tuple[type[Exception], ...] = (*EXPECTED_ERRORS, OSError)
"""What can stop a worker or ``lanes dev`` from starting, said in one line: the above, plus an
operating-system refusal (a port in use, a file that cannot be opened)."""
