"""Errors of the sync domain and the retry policy that knows them.

Errors that will fail the same way on every attempt are raised as non-retryable
``ApplicationError``s whose ``type`` names them, and :data:`GITHUB_SYNC` lists those types too, so
they stop at once whichever way they reach Temporal:

- ``AuthError`` — 401, or a 403 that is not a rate limit: the token is missing, wrong or lacks a
  scope. Retrying cannot help until someone fixes the token.
- ``NotFoundError`` — 404 from the API, or a local path that is not a git repository.
- ``InvalidRepositoryUrl`` — a URL Lanes cannot map to a git path or an API repository.

Everything else (5xx, timeouts, dropped connections, a database that is down) is retried with the
standard backoff. Rate limits are not errors here: :mod:`sync.sources.github` waits them out.

This module is workflow-safe (no I/O at import).
"""

from __future__ import annotations

import dataclasses

from temporalio.exceptions import ApplicationError

from core.retry import STANDARD_RETRY, register_retry_policy

__all__ = [
    "AUTH_ERROR",
    "GITHUB_SYNC",
    "INVALID_URL",
    "NOT_FOUND",
    "auth_error",
    "invalid_url",
    "not_found",
]

AUTH_ERROR = "AuthError"
NOT_FOUND = "NotFoundError"
INVALID_URL = "InvalidRepositoryUrl"

GITHUB_SYNC = register_retry_policy(
    "github_sync",
    dataclasses.replace(
        STANDARD_RETRY, non_retryable_error_types=[AUTH_ERROR, NOT_FOUND, INVALID_URL]
    ),
)
"""Standard backoff (60 s doubling to 10 min, 4 attempts); auth, not-found, bad URLs: no retry."""


def auth_error(message: str) -> ApplicationError:
    """The credentials were refused: not retried."""
    return ApplicationError(message, type=AUTH_ERROR, non_retryable=True)


def not_found(message: str) -> ApplicationError:
    """The repository does not exist (or the token may not see it): not retried."""
    return ApplicationError(message, type=NOT_FOUND, non_retryable=True)


def invalid_url(message: str) -> ApplicationError:
    """The repository URL cannot be synced: not retried."""
    return ApplicationError(message, type=INVALID_URL, non_retryable=True)
