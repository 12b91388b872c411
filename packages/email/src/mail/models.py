"""The email domain's tables, all prefixed ``mail_``.

- ``mail_sends`` — the sends log: one row per idempotency key (a send, a skip, a refusal).
- ``mail_suppressions`` — addresses never sent to again (unsubscribed, hard-bounced, manual).
- ``mail_campaigns`` / ``mail_campaign_recipients`` — a campaign and each recipient's status.
- ``mail_sending_domains`` — warming: each sending domain's daily limit and today's count.

The send itself happens once per key through core's ledger (``lanes_idempotency``); these tables
record what happened, each write an upsert on a natural key so repeating it is harmless.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.orm import Mapped, mapped_column

from core.db import Base

__all__ = ["Campaign", "CampaignRecipient", "SendLog", "SendingDomain", "Suppression"]


class SendLog(Base):
    """What became of one send (one idempotency key)."""

    __tablename__ = "mail_sends"

    id: Mapped[int] = mapped_column(primary_key=True)
    idempotency_key: Mapped[str] = mapped_column(String(255), unique=True)
    to_address: Mapped[str] = mapped_column(String(320), index=True)
    subject: Mapped[str | None] = mapped_column(Text)
    status: Mapped[str] = mapped_column(String(20))
    """``sent``, ``skipped`` (suppressed) or ``failed`` (refused, invalid)."""
    message_id: Mapped[str | None] = mapped_column(String(255))
    reason: Mapped[str | None] = mapped_column(Text)
    campaign_id: Mapped[int | None] = mapped_column(Integer, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Suppression(Base):
    """An address no message goes to: a send to it is a recorded skip."""

    __tablename__ = "mail_suppressions"

    address: Mapped[str] = mapped_column(String(320), primary_key=True)
    reason: Mapped[str] = mapped_column(String(20))
    """``unsubscribed``, ``hard_bounce`` or ``manual``."""
    detail: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Campaign(Base):
    """One campaign: what to send, from whom, how fast."""

    __tablename__ = "mail_campaigns"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    sender: Mapped[str] = mapped_column(String(320))
    template: Mapped[str | None] = mapped_column(String(100))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    """Shared template context; each recipient's own context is merged over it."""
    subject: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    html: Mapped[str | None] = mapped_column(Text)
    rate_per_minute: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(20), default="draft")
    """``draft``, ``running``, ``completed`` or ``cancelled``."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CampaignRecipient(Base):
    """One recipient of one campaign and what became of their message."""

    __tablename__ = "mail_campaign_recipients"
    __table_args__ = (
        UniqueConstraint("campaign_id", "address"),
        Index("ix_mail_campaign_recipients_pending", "campaign_id", "status", "deferrals", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    campaign_id: Mapped[int] = mapped_column(ForeignKey("mail_campaigns.id", ondelete="CASCADE"))
    address: Mapped[str] = mapped_column(String(320))
    context: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    status: Mapped[str] = mapped_column(String(20), default="pending")
    """``pending``, ``sent``, ``skipped`` or ``failed``."""
    reason: Mapped[str | None] = mapped_column(Text)
    deferrals: Mapped[int] = mapped_column(Integer, default=0)
    """Temporary (4xx) refusals so far; the recipient goes to the back of the queue each time
    and fails after :data:`mail.activities.campaigns.MAX_DEFERRALS`."""
    updated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SendingDomain(Base):
    """A sending domain being warmed: campaigns from it send at most ``daily_limit`` a day."""

    __tablename__ = "mail_sending_domains"

    domain: Mapped[str] = mapped_column(String(255), primary_key=True)
    ramp_step: Mapped[int] = mapped_column(Integer, default=0)
    """Index into the declared ramp (:data:`mail.warming.RAMP`)."""
    daily_limit: Mapped[int | None] = mapped_column(Integer)
    """Messages a day; ``None`` once past the end of the ramp (warmed)."""
    day: Mapped[str] = mapped_column(String(10))
    """UTC date (``YYYY-MM-DD``) ``sent_today`` counts."""
    sent_today: Mapped[int] = mapped_column(Integer, default=0)
    raised_on: Mapped[str | None] = mapped_column(String(10))
    """UTC date of the last raise: the schedule raises a domain at most once a day."""
