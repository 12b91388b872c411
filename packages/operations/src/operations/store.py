"""The operations domain's writes shared by activities and the CLI."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from operations.models import WebhookEndpoint
from operations.webhooks import signing

__all__ = ["add_endpoint", "aware"]


def aware(value: datetime | None) -> datetime | None:
    """``value`` in UTC; SQLite hands back naive datetimes, which Lanes always stores in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


async def add_endpoint(
    s: AsyncSession, url: str, *, event_types: list[str] | None = None, secret: str | None = None
) -> WebhookEndpoint:
    """A new enabled endpoint with a fresh ``whsec_`` secret (or the one given)."""
    endpoint = WebhookEndpoint(
        url=url,
        secret=secret or signing.generate_secret(),
        event_types=list(event_types or []),
        enabled=True,
    )
    s.add(endpoint)
    await s.flush()
    return endpoint
