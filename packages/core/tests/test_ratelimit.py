"""Rate limits: the notation, the settings error, and the server rate checked against a model of
the server's limiter (Temporal matching's GCRA: ``simpleLimiter.consume`` in matcher_data.go).
The real server under the real limit: test_dispatch_ordering.py and bench/analysis.py."""

import random

import pytest

from core.ratelimit import MARGIN_SECONDS, SERVER_BURST_SECONDS, RateLimit
from core.settings import LanesSettings, SettingsError, load_settings

NS = 1_000_000_000


@pytest.mark.parametrize(
    ("value", "count", "window"),
    [
        (20, 20, 1.0),
        (20.0, 20, 1.0),
        ("20", 20, 1.0),
        ("20/s", 20, 1.0),
        (" 1200 / m ", 1200, 60.0),
        ("10000/h", 10000, 3600.0),
        ("5/min", 5, 60.0),
        ("7/SEC", 7, 1.0),
    ],
)
def test_celery_notation(value: object, count: int, window: float) -> None:
    assert RateLimit.parse(value) == RateLimit(count, window)


@pytest.mark.parametrize("value", ["", "0/s", "-3", "2.5/s", "20/d", "20/x", "fast", True, 1.5])
def test_what_is_not_a_rate_limit(value: object) -> None:
    with pytest.raises(ValueError, match="is not a rate limit: write"):
        RateLimit.parse(value)


def test_a_bad_limit_is_one_settings_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_RATE_LIMITS", '{"analysis": "20/d"}')
    with pytest.raises(SettingsError) as raised:
        load_settings(LanesSettings)
    message = str(raised.value)
    assert "LANES_RATE_LIMITS" in message and "'20/d' is not a rate limit" in message
    assert "\n" not in message


def test_settings_read_both_forms(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LANES_RATE_LIMITS", '{"analysis": "1200/m", "sync": 5}')
    limits = load_settings(LanesSettings).rate_limits
    assert limits == {"analysis": RateLimit(1200, 60.0), "sync": RateLimit(5, 1.0)}
    assert [str(limit) for limit in limits.values()] == ["1200/m", "5/s"]


def server_starts(rate: float, demand: list[int], jitter: float, seed: int) -> list[float]:
    """Start times (s) the server's limiter allows for jobs queued at ``demand`` (ns), each then
    reaching the other side up to ``jitter`` seconds late."""
    interval = int(NS / rate)
    burst = int(SERVER_BURST_SECONDS * NS)
    ready = -(10**18)  # idle for ever
    starts = []
    for queued in demand:
        now = max(queued, ready)  # the task waits in the backlog until the limiter is ready
        ready = max(now, ready + burst) - burst + interval  # consume(tokens=1)
        starts.append(now / NS)
    rng = random.Random(seed)
    return sorted(t + rng.uniform(0, jitter) for t in starts)


def busiest(times: list[float], window: float) -> int:
    """The most starts in any closed window of ``window`` seconds."""
    peak, first = 0, 0
    for last, t in enumerate(times):
        while t - times[first] > window:
            first += 1
        peak = max(peak, last - first + 1)
    return peak


@pytest.mark.parametrize("limit", ["1/s", "2/s", "3/s", "10/s", "20/s", "100/s", "5/m", "1200/m"])
def test_no_window_sees_more_than_the_limit(limit: str) -> None:
    rate_limit = RateLimit.parse(limit)
    rate = rate_limit.server_rate()
    window = rate_limit.window
    n = max(int(rate * window * 4), 20)
    # A backlog from the start, then idle spells (the bucket refills) and a second backlog.
    demand = [0] * n + [int((window * 6 + i * window / 3) * NS) for i in range(n)]
    for seed in range(5):
        times = server_starts(rate, demand, jitter=MARGIN_SECONDS, seed=seed)
        assert busiest(times, window) <= rate_limit.count, (limit, seed)


@pytest.mark.parametrize("limit", ["20/s", "1200/m"])
def test_without_the_correction_the_server_bursts_past_the_limit(limit: str) -> None:
    """The reason for :meth:`RateLimit.server_rate`: given the limit itself, the server's burst
    lets about twice the limit through in a second, and a minute's limit plus one second's."""
    rate_limit = RateLimit.parse(limit)
    naive = rate_limit.count / rate_limit.window
    times = server_starts(naive, [0] * rate_limit.count * 3, jitter=0.0, seed=0)
    assert busiest(times, rate_limit.window) > rate_limit.count


def test_what_the_promise_costs() -> None:
    # Per minute, 98 % of the rate; per second, less than half: declare the provider's window.
    assert RateLimit.parse("1200/m").server_rate() / 20 == pytest.approx(1199 / 61.2 / 20)
    assert RateLimit.parse("20/s").server_rate() == pytest.approx(19 / 2.2)
