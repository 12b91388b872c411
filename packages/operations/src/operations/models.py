"""The operations domain's tables: webhook endpoints and their delivery log, uptime monitors with
their check results and incidents, and onboarding progress.

Natural keys carry unique constraints (``message_id`` + ``endpoint_id`` for a delivery;
``onboarding_id`` + ``step``) so activity writes are upserts, safe to repeat on a retry.
``RETENTION`` says how long the logs are kept; the daily cleanup purges what is older.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
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
from core.db.retention import Retention

__all__ = [
    "RETENTION",
    "CheckResult",
    "Incident",
    "Monitor",
    "OnboardingStep",
    "WebhookAttempt",
    "WebhookDelivery",
    "WebhookEndpoint",
]

RETENTION = [
    Retention("operations_check_results", "checked_at", timedelta(days=30)),
    Retention("operations_webhook_attempts", "attempted_at", timedelta(days=30)),
    Retention("operations_incidents", "resolved_at", timedelta(days=365)),
]


class WebhookEndpoint(Base):
    """A receiver of signed event notifications (Standard Webhooks)."""

    __tablename__ = "operations_webhook_endpoints"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    secret: Mapped[str] = mapped_column(String(200))
    """``whsec_<base64 key>``: the receiver verifies signatures with it."""
    event_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Events it wants (``incident.opened``...); empty means every event."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    disabled_reason: Mapped[str | None] = mapped_column(Text)
    """Why it was disabled (``410 Gone`` from the receiver)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    disabled_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookDelivery(Base):
    """One message to one endpoint, over all its attempts."""

    __tablename__ = "operations_webhook_deliveries"
    __table_args__ = (UniqueConstraint("message_id", "endpoint_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    message_id: Mapped[str] = mapped_column(String(255))
    """The ``webhook-id`` header: the receiver's de-duplication key."""
    endpoint_id: Mapped[int] = mapped_column(
        ForeignKey("operations_webhook_endpoints.id", ondelete="CASCADE")
    )
    event_type: Mapped[str] = mapped_column(String(100))
    status: Mapped[str] = mapped_column(String(20))
    """``pending`` (an attempt failed, another follows), ``delivered``, ``failed``."""
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_status_code: Mapped[int | None] = mapped_column(Integer)
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    delivered_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class WebhookAttempt(Base):
    """One HTTP attempt of a delivery: the delivery log."""

    __tablename__ = "operations_webhook_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("operations_webhook_deliveries.id", ondelete="CASCADE"), index=True
    )
    attempt: Mapped[int] = mapped_column(Integer)
    status_code: Mapped[int | None] = mapped_column(Integer)
    """``None`` when no answer came (timeout, refused connection)."""
    outcome: Mapped[str] = mapped_column(String(20))
    """``delivered``, ``retry``, ``failed`` (not retried) or ``disabled`` (410)."""
    error: Mapped[str | None] = mapped_column(Text)
    duration_ms: Mapped[float] = mapped_column()
    attempted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class Monitor(Base):
    """An HTTP endpoint checked every ``interval_seconds``."""

    __tablename__ = "operations_monitors"

    id: Mapped[int] = mapped_column(primary_key=True)
    url: Mapped[str] = mapped_column(String(2000))
    method: Mapped[str] = mapped_column(String(10), default="GET")
    expected_status: Mapped[int] = mapped_column(Integer, default=200)
    timeout_seconds: Mapped[float] = mapped_column(default=10.0)
    interval_seconds: Mapped[int] = mapped_column(Integer, default=60)
    keyword: Mapped[str | None] = mapped_column(String(500))
    """When set, the body must contain it."""
    failure_threshold: Mapped[int] = mapped_column(Integer, default=3)
    """Consecutive failed checks that open an incident."""
    notify_emails: Mapped[list[str]] = mapped_column(JSON, default=list)
    """Who is emailed about incidents; empty means ``LANES_OPERATIONS_ALERT_EMAILS``."""
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    status: Mapped[str] = mapped_column(String(10), default="unknown")
    """``unknown`` (never checked), ``up`` or ``down`` (an incident is open)."""
    consecutive_failures: Mapped[int] = mapped_column(Integer, default=0)
    last_checked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    last_latency_ms: Mapped[float | None] = mapped_column()
    next_check_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)
    """Due when in the past or NULL (never checked)."""
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class CheckResult(Base):
    """One check of one monitor."""

    __tablename__ = "operations_check_results"
    __table_args__ = (
        Index("ix_operations_check_results_monitor_time", "monitor_id", "checked_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("operations_monitors.id", ondelete="CASCADE")
    )
    checked_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    ok: Mapped[bool] = mapped_column(Boolean)
    status_code: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)


class Incident(Base):
    """A monitor down: opened after N consecutive failures, resolved by the next success."""

    __tablename__ = "operations_incidents"

    id: Mapped[int] = mapped_column(primary_key=True)
    monitor_id: Mapped[int] = mapped_column(
        ForeignKey("operations_monitors.id", ondelete="CASCADE"), index=True
    )
    cause: Mapped[str] = mapped_column(Text)
    opened_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    opened_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    """When its ``incident.opened`` notifications were dispatched; NULL = still to do (outbox)."""
    resolved_notified_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class OnboardingStep(Base):
    """A completed step of one onboarding (written by its activities)."""

    __tablename__ = "operations_onboarding_steps"
    __table_args__ = (UniqueConstraint("onboarding_id", "step"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    onboarding_id: Mapped[str] = mapped_column(String(255))
    """The onboarding workflow's id."""
    step: Mapped[str] = mapped_column(String(50))
    detail: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    done_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
