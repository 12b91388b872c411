"""The one base class of every database error Lanes raises, for callers that catch them all."""

from __future__ import annotations

__all__ = ["DatabaseError"]


class DatabaseError(Exception):
    """Base of :class:`DatabaseConfigError`, :class:`DatabaseUnavailable`, migration errors."""
