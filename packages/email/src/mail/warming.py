"""Warming: a new sending domain starts with a small daily limit that rises along a ramp.

Mailbox providers distrust a domain that suddenly sends thousands of messages; the usual practice
is to grow the daily volume over a few weeks. A domain enters warming with ``lanes mail domain
warm DOMAIN`` (step 0); the ``mail.raise_warming_limits`` schedule moves every warming domain one
step up the ramp once a day; past the last step the domain is warmed (no limit). Campaigns from a
warming domain reserve their sends against the day's limit before sending and wait for the next
day (or a raise) when it is used up. Domains that never entered warming have no limit.

Workflow-safe (no I/O).
"""

from __future__ import annotations

__all__ = ["RAMP", "limit_at"]

RAMP: tuple[int, ...] = (50, 100, 200, 500, 1_000, 2_000, 5_000, 10_000, 20_000, 50_000, 100_000)
"""Daily limit at each step of warming; past the end the domain has no limit."""


def limit_at(step: int) -> int | None:
    """The daily limit at ``step`` of the ramp; ``None`` (no limit) past its end."""
    return RAMP[step] if 0 <= step < len(RAMP) else None
