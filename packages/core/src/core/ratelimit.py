"""Queue rate limits: "at most N jobs start in any window", turned into the server's setting.

A rate limit is written as Celery writes ``rate_limit``: ``20`` or ``"20/s"`` (per second),
``"1200/m"`` (per minute), ``"10000/h"`` (per hour). Lanes reads it as a promise to whoever is
behind the queue (an LLM provider, a partner API): **no window of that length, anywhere in the
run, sees more than N jobs start** across every worker of the queue.

The server enforces the limit (the SDK's ``max_task_queue_activities_per_second``, one rate for
the whole queue), not sleeping workers. Its limiter is a token bucket (a GCRA) that holds one
second's worth of starts: after an idle spell, or a hiccup in polling, ``rate + 1`` jobs start
at once, then one per ``1/rate``. So at a server rate ``r`` a window of ``W`` seconds can see
``floor(r * (1 + W)) + 1`` starts (the GCRA's bound), and the promise needs
``r * (1 + W + margin) <= N - 1``, where the margin absorbs uneven delivery between the server's
dispatch and the call the job makes. That is :meth:`RateLimit.server_rate`:

- ``"1200/m"`` → 19.6/s on the server: 98 % of the provider's rate, the right way to declare a
  limit the provider counts per minute (OpenAI's and Anthropic's RPM);
- ``"20/s"`` → 8.6/s: a per-second promise costs more than half the rate, because one second of
  burst is as long as the window itself. Declare the window the provider really counts in.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

__all__ = ["MARGIN_SECONDS", "SERVER_BURST_SECONDS", "RateLimit"]

SERVER_BURST_SECONDS = 1.0
"""How much of its rate the server's task-queue limiter lets through at once (Temporal's
matching service: a one-second burst, not configurable)."""

MARGIN_SECONDS = 0.2
"""Added to every window when computing the server's rate: room for jobs that the server
dispatched evenly to reach the other side unevenly (polling, the worker's event loop)."""

_UNITS = {"s": 1.0, "sec": 1.0, "m": 60.0, "min": 60.0, "h": 3600.0, "hour": 3600.0}
_FORM = re.compile(r"^\s*(\d+)\s*(?:/\s*([a-z]+))?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class RateLimit:
    """At most ``count`` job starts in any window of ``window`` seconds, across the queue."""

    count: int
    window: float = 1.0

    @classmethod
    def parse(cls, value: Any) -> RateLimit:
        """``20``, ``"20"``, ``"20/s"``, ``"1200/m"``, ``"10000/h"`` (also ``sec``, ``min``,
        ``hour``); anything else raises :class:`ValueError` saying what to write."""
        if isinstance(value, RateLimit):
            return value
        if isinstance(value, bool):
            raise ValueError(_invalid(value))
        if isinstance(value, float) and value.is_integer():
            text = str(int(value))
        elif isinstance(value, int):
            text = str(value)
        elif isinstance(value, str):
            text = value
        else:
            raise ValueError(_invalid(value))
        match = _FORM.match(text)
        if match is None:
            raise ValueError(_invalid(value))
        window = _UNITS.get((match.group(2) or "s").lower())
        count = int(match.group(1))
        if window is None or count <= 0:
            raise ValueError(_invalid(value))
        return cls(count=count, window=window)

    def server_rate(self) -> float:
        """Starts per second to give the server so that no window sees more than ``count``."""
        span = SERVER_BURST_SECONDS + self.window + MARGIN_SECONDS
        # The GCRA's bound, floor(rate x span) + 1 <= count; one a window needs rate x span < 1.
        return (self.count - 1) / span if self.count > 1 else 0.99 / span

    def __str__(self) -> str:
        unit = {1.0: "s", 60.0: "m", 3600.0: "h"}.get(self.window, f"{self.window:g}s")
        return f"{self.count}/{unit}"


def _invalid(value: Any) -> str:
    return (
        f"{value!r} is not a rate limit: write the most jobs allowed to start in any second, "
        'minute or hour, as 20, "20/s", "1200/m" or "10000/h"'
    )
