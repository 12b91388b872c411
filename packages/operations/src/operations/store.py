"""The operations domain's reads and writes, shared by its activities and the CLI.

The activities import this module (and with it SQLAlchemy and the models) on their first job
(:func:`core.activities.preload`), not when the worker starts. Writes that a retry may repeat are
upserts on a natural key or conditional updates.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from core.db import upsert
from operations.models import (
    CheckResult,
    Incident,
    Monitor,
    OnboardingStep,
    WebhookAttempt,
    WebhookDelivery,
    WebhookEndpoint,
)
from operations.uptime.evaluate import transition
from operations.webhooks import signing

if TYPE_CHECKING:
    from operations.uptime.probe import Checked

__all__ = [
    "add_endpoint",
    "aware",
    "complete_step",
    "disable_endpoint",
    "due_monitors",
    "enabled_endpoints",
    "open_delivery",
    "record_attempt",
    "record_checks",
    "stamp_incident",
    "unnotified_incidents",
]


def aware(value: datetime | None) -> datetime | None:
    """``value`` in UTC; SQLite hands back naive datetimes, which Lanes always stores in UTC."""
    if value is None:
        return None
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


# --- webhooks --------------------------------------------------------------------------------


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


async def enabled_endpoints(s: AsyncSession) -> list[tuple[int, list[str]]]:
    """Every enabled endpoint's id and the event types it wants (empty: every type)."""
    rows = await s.execute(
        select(WebhookEndpoint.id, WebhookEndpoint.event_types).where(
            WebhookEndpoint.enabled.is_(True)
        )
    )
    return [(endpoint_id, event_types) for endpoint_id, event_types in rows.all()]


async def open_delivery(
    s: AsyncSession, message_id: str, endpoint_id: int, event_type: str
) -> WebhookDelivery:
    """The delivery of ``message_id`` to the endpoint, created ``pending`` on its first run."""
    await upsert(
        s,
        WebhookDelivery,
        [
            {
                "message_id": message_id,
                "endpoint_id": endpoint_id,
                "event_type": event_type,
                "status": "pending",
            }
        ],
        key=["message_id", "endpoint_id"],
        update=(),
    )
    found = await s.execute(
        select(WebhookDelivery).where(
            WebhookDelivery.message_id == message_id,
            WebhookDelivery.endpoint_id == endpoint_id,
        )
    )
    return found.scalar_one()


async def record_attempt(
    s: AsyncSession,
    delivery_id: int,
    attempt: int,
    code: int | None,
    kind: str,
    error: str | None,
    duration_ms: float,
) -> None:
    """One attempt in the delivery log, and the delivery's state after it (``kind``: the
    attempt's outcome, ``delivered``, ``retry`` or final)."""
    now = datetime.now(UTC)
    status = {"delivered": "delivered", "retry": "pending"}.get(kind, "failed")
    s.add(
        WebhookAttempt(
            delivery_id=delivery_id,
            attempt=attempt,
            status_code=code,
            outcome=kind,
            error=error[:4000] if error else None,
            duration_ms=duration_ms,
            attempted_at=now,
        )
    )
    await s.execute(
        update(WebhookDelivery)
        .where(WebhookDelivery.id == delivery_id)
        .values(
            status=status,
            attempts=WebhookDelivery.attempts + 1,
            last_status_code=code,
            last_error=error[:4000] if error else None,
            delivered_at=now if status == "delivered" else None,
        )
    )


async def disable_endpoint(s: AsyncSession, endpoint_id: int, reason: str) -> None:
    """Stop delivering to an endpoint, saying why."""
    await s.execute(
        update(WebhookEndpoint)
        .where(WebhookEndpoint.id == endpoint_id)
        .values(enabled=False, disabled_reason=reason, disabled_at=datetime.now(UTC))
    )


# --- uptime ----------------------------------------------------------------------------------


async def due_monitors(s: AsyncSession, now: datetime, limit: int) -> list[Monitor]:
    """Up to ``limit`` enabled monitors due at ``now`` (never checked, or due since), by id."""
    rows = await s.execute(
        select(Monitor)
        .where(
            Monitor.enabled.is_(True),
            or_(Monitor.next_check_at.is_(None), Monitor.next_check_at <= now),
        )
        .order_by(Monitor.id)
        .limit(limit)
    )
    return list(rows.scalars())


async def record_checks(s: AsyncSession, checked: Sequence[Checked]) -> tuple[list[int], list[int]]:
    """Store check results, the monitors' new state and the incidents they open or resolve
    (:func:`operations.uptime.evaluate.transition` decides); the ids opened and resolved."""
    resolved: list[int] = []
    by_id = {c.monitor.id: c for c in checked}
    s.add_all(
        CheckResult(
            monitor_id=c.monitor.id,
            checked_at=c.checked_at,
            ok=c.error is None,
            status_code=c.status_code,
            latency_ms=c.latency_ms,
            error=c.error,
        )
        for c in checked
    )
    # Locked (PostgreSQL; SQLite has one writer anyway) and read after the lock: a run started
    # by hand beside the scheduled one sees the other's incident instead of opening its own.
    monitors = (
        await s.execute(
            select(Monitor).where(Monitor.id.in_(by_id)).order_by(Monitor.id).with_for_update()
        )
    ).scalars()
    new_incidents: list[Incident] = []
    for monitor in monitors:
        c = by_id[monitor.id]
        step = transition(
            monitor.status,
            monitor.consecutive_failures,
            ok=c.error is None,
            threshold=monitor.failure_threshold,
        )
        monitor.status = step.status
        monitor.consecutive_failures = step.consecutive_failures
        monitor.last_checked_at = c.checked_at
        monitor.last_latency_ms = c.latency_ms
        monitor.next_check_at = c.checked_at + timedelta(seconds=monitor.interval_seconds)
        if step.open_incident:
            cause = f"{step.consecutive_failures} checks in a row failed: {c.error}"
            incident = Incident(monitor_id=monitor.id, cause=cause, opened_at=c.checked_at)
            s.add(incident)
            new_incidents.append(incident)
        if step.resolve_incident:
            ids = (
                await s.execute(
                    update(Incident)
                    .where(Incident.monitor_id == monitor.id, Incident.resolved_at.is_(None))
                    .values(resolved_at=c.checked_at)
                    .returning(Incident.id)
                )
            ).scalars()
            resolved.extend(ids)
    await s.flush()
    return [i.id for i in new_incidents], resolved


async def unnotified_incidents(s: AsyncSession) -> list[tuple[Incident, Monitor]]:
    """Incidents whose opening, or resolution, is not notified yet (the outbox), by id."""
    rows = await s.execute(
        select(Incident, Monitor)
        .join(Monitor, Monitor.id == Incident.monitor_id)
        .where(
            or_(
                Incident.opened_notified_at.is_(None),
                Incident.resolved_at.is_not(None) & Incident.resolved_notified_at.is_(None),
            )
        )
        .order_by(Incident.id)
    )
    return [(incident, monitor) for incident, monitor in rows.tuples()]


async def stamp_incident(s: AsyncSession, incident_id: int, **values: datetime) -> None:
    """Set an incident's ``opened_notified_at`` or ``resolved_notified_at``."""
    await s.execute(update(Incident).where(Incident.id == incident_id).values(**values))


# --- onboarding ------------------------------------------------------------------------------


async def complete_step(
    s: AsyncSession, onboarding_id: str, step: str, detail: dict[str, Any]
) -> datetime:
    """Record ``step`` of ``onboarding_id`` as done now (kept when done already); when it was
    first done, as stored."""
    await upsert(
        s,
        OnboardingStep,
        [
            {
                "onboarding_id": onboarding_id,
                "step": step,
                "detail": detail,
                "done_at": datetime.now(UTC),
            }
        ],
        key=["onboarding_id", "step"],
        update=(),
    )
    done: datetime = (
        await s.execute(
            select(OnboardingStep.done_at).where(
                OnboardingStep.onboarding_id == onboarding_id,
                OnboardingStep.step == step,
            )
        )
    ).scalar_one()
    return done
