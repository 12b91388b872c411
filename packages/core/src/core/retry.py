"""Named retry policies, defined once.

Activities name the policy they want (``retry="llm"``) or pass the object; dispatch overrides and
schedules resolve names through :func:`retry_policy`, so there is no second copy that can drift.
Domain policies (``GITHUB_SYNC`` and friends) are added with :func:`register_retry_policy` next to
the code that raises their errors.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio.common import RetryPolicy

STANDARD_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=60),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=4,
)
"""The default: 60 s, doubling, at most 10 min apart, 4 attempts in all."""

LLM_RETRY = RetryPolicy(
    initial_interval=timedelta(seconds=30),
    backoff_coefficient=2.0,
    maximum_interval=timedelta(minutes=10),
    maximum_attempts=6,
    # A prompt that fails validation or a missing key will fail the same way next time.
    non_retryable_error_types=["ValueError", "KeyError"],
)
"""Model calls: 30 s, doubling, at most 10 min apart, 6 attempts; bad input is not retried."""

WEBHOOK_RETRY = RetryPolicy(
    initial_interval=timedelta(minutes=1),
    backoff_coefficient=3.0,
    maximum_interval=timedelta(hours=1),
    maximum_attempts=6,
)
"""Outbound webhooks: 1 min, tripling, at most 1 h apart, 6 attempts."""

_POLICIES: dict[str, RetryPolicy] = {
    "standard": STANDARD_RETRY,
    "llm": LLM_RETRY,
    "webhook": WEBHOOK_RETRY,
}


def register_retry_policy(name: str, policy: RetryPolicy) -> RetryPolicy:
    """Add a named policy (a domain's own); registering the same name twice is an error."""
    key = name.lower()
    existing = _POLICIES.get(key)
    if existing is not None and existing != policy:
        raise ValueError(f"retry policy {name!r} is already defined differently")
    _POLICIES[key] = policy
    return policy


def retry_policy(name: str | RetryPolicy) -> RetryPolicy:
    """Return the policy registered under ``name`` (case-insensitive); a policy passes through."""
    if isinstance(name, RetryPolicy):
        return name
    try:
        return _POLICIES[name.lower()]
    except KeyError:
        known = ", ".join(sorted(_POLICIES))
        raise KeyError(f"unknown retry policy {name!r}; known policies: {known}") from None
