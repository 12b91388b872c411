"""Standard Webhooks signatures (https://www.standardwebhooks.com).

A message is signed over ``"<webhook-id>.<webhook-timestamp>.<body>"`` with HMAC-SHA256 and the
endpoint's secret (``whsec_`` + base64 key); the signature header is ``v1,<base64 digest>``
(space-separated when several keys are valid during a rotation). Receivers check the timestamp
against a tolerance to refuse replays. Pure functions: no I/O, trivially tested.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets

__all__ = ["PREFIX", "generate_secret", "headers", "sign", "verify"]

PREFIX = "whsec_"


def generate_secret() -> str:
    """A new endpoint secret: ``whsec_`` and 32 random bytes in base64."""
    return PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def _key(secret: str) -> bytes:
    if not secret.startswith(PREFIX):
        raise ValueError("a webhook secret starts with 'whsec_'")
    try:
        return base64.b64decode(secret.removeprefix(PREFIX), validate=True)
    except ValueError:
        raise ValueError("a webhook secret is 'whsec_' followed by base64") from None


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value: ``v1,<base64 HMAC-SHA256 of "id.timestamp.body">``."""
    signed = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def headers(secret: str, message_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for one attempt."""
    return {
        "webhook-id": message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(secret, message_id, timestamp, body),
        "content-type": "application/json",
    }


def verify(
    secret: str,
    message_id: str,
    timestamp: str,
    signature_header: str,
    body: bytes,
    *,
    now: int,
    tolerance: int = 300,
) -> bool:
    """What a receiver does: a recent timestamp and one matching ``v1`` signature."""
    try:
        sent = int(timestamp)
    except ValueError:
        return False
    if abs(now - sent) > tolerance:
        return False
    expected = sign(secret, message_id, sent, body)
    return any(hmac.compare_digest(expected, s) for s in signature_header.split(" "))
