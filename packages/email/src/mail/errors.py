"""Errors of the email domain and the retry policy that knows them.

Errors that fail the same way on every attempt are non-retryable ``ApplicationError``s whose
``type`` names them, and :data:`MAIL_SEND` lists those types too:

- ``InvalidAddress`` — the recipient (or sender) is not a valid email address.
- ``InvalidMessage`` — an unknown template, a context its model rejects, a template that fails
  to render.
- ``SmtpRejected`` — the relay answered 5xx: it will refuse the same message again. The outcome
  is recorded under the idempotency key; a 550-class "no such user" also suppresses the address.

Everything else — SMTP 4xx (``SmtpTemporaryFailure``), a relay that is down or slow, a database
that is down — is retried with the standard backoff.

This module is workflow-safe (no I/O at import).
"""

from __future__ import annotations

import dataclasses

from temporalio.exceptions import ApplicationError

from core.retry import STANDARD_RETRY, register_retry_policy

__all__ = [
    "INVALID_ADDRESS",
    "INVALID_CAMPAIGN",
    "INVALID_MESSAGE",
    "MAIL_CAMPAIGN",
    "MAIL_SEND",
    "SMTP_REJECTED",
    "SMTP_TEMPORARY",
    "SMTP_UNAVAILABLE",
    "invalid_address",
    "invalid_campaign",
    "invalid_message",
    "smtp_rejected",
]

INVALID_ADDRESS = "InvalidAddress"
INVALID_MESSAGE = "InvalidMessage"
SMTP_REJECTED = "SmtpRejected"
SMTP_TEMPORARY = "SmtpTemporaryFailure"
SMTP_UNAVAILABLE = "SmtpUnavailable"

MAIL_SEND = register_retry_policy(
    "mail_send",
    dataclasses.replace(
        STANDARD_RETRY, non_retryable_error_types=[INVALID_ADDRESS, INVALID_MESSAGE, SMTP_REJECTED]
    ),
)
"""Standard backoff (60 s doubling to 10 min, 4 attempts); bad input and 5xx: no retry."""

INVALID_CAMPAIGN = "InvalidCampaign"

MAIL_CAMPAIGN = register_retry_policy(
    "mail_campaign",
    dataclasses.replace(
        STANDARD_RETRY, maximum_attempts=0, non_retryable_error_types=[INVALID_CAMPAIGN]
    ),
)
"""A campaign batch waits out a relay or database outage (60 s doubling to 10 min, no attempt
limit): giving up would drop the campaign's remaining recipients. Per-recipient refusals never
fail the batch; only a campaign that does not exist does."""


def invalid_campaign(message: str) -> ApplicationError:
    """The campaign cannot be sent (it does not exist): not retried."""
    return ApplicationError(message, type=INVALID_CAMPAIGN, non_retryable=True)


def invalid_address(message: str) -> ApplicationError:
    """The address cannot be sent to: not retried."""
    return ApplicationError(message, type=INVALID_ADDRESS, non_retryable=True)


def invalid_message(message: str) -> ApplicationError:
    """The message cannot be built (template, context): not retried."""
    return ApplicationError(message, type=INVALID_MESSAGE, non_retryable=True)


def smtp_rejected(message: str) -> ApplicationError:
    """The relay refused the message permanently (5xx): not retried."""
    return ApplicationError(message, type=SMTP_REJECTED, non_retryable=True)
