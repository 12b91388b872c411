"""What an endpoint's answer means for a delivery: done, retry (maybe after a delay), give up,
or disable the endpoint. Pure: the activity does the I/O and asks here."""

from __future__ import annotations

import email.utils
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

__all__ = ["Outcome", "classify", "retry_after"]

MAX_RETRY_AFTER = timedelta(hours=1)
"""A longer ``Retry-After`` is capped: the policy's maximum interval is one hour too."""


@dataclass(frozen=True)
class Outcome:
    kind: str
    """``delivered``, ``retry``, ``failed`` (never retried) or ``disabled`` (410 Gone)."""
    delay: timedelta | None = None
    """For ``retry``: the receiver's ``Retry-After``, when it sent one."""


def classify(status: int, retry_after_header: str | None = None, *, now: datetime) -> Outcome:
    """2xx delivered; 410 disables the endpoint; 408 and 429 retried (429 after
    ``Retry-After``); other 4xx failed for good; 5xx (and anything else) retried."""
    if 200 <= status < 300:
        return Outcome("delivered")
    if status == 410:
        return Outcome("disabled")
    if status == 429:
        return Outcome("retry", retry_after(retry_after_header, now=now))
    if status == 408:
        return Outcome("retry")
    if 400 <= status < 500:
        return Outcome("failed")
    return Outcome("retry")


def retry_after(value: str | None, *, now: datetime) -> timedelta | None:
    """``Retry-After`` as a delay: seconds or an HTTP date; ``None`` when absent or unreadable."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        delay = timedelta(seconds=int(value))
    else:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        delay = max(when - now, timedelta(0))
    return min(delay, MAX_RETRY_AFTER)
