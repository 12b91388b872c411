"""The onboarding steps' hands on the database: each completed step is a row.

``OnboardingWorkflow`` runs its steps as activities; this one records a step as done in
``operations_onboarding_steps`` (an upsert on onboarding + step, so a retried step writes once)
and returns when it was done. What a step *tells* people goes through ``notify``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic

from core import activities, db

STORE = ("core.db.engine", "operations.store")
"""What the activity's body imports on its first job (SQLAlchemy), not at worker start."""

__all__ = ["CompleteStepInput", "complete_onboarding_step"]


class CompleteStepInput(pydantic.BaseModel):
    onboarding_id: str
    step: str = pydantic.Field(min_length=1, max_length=50)
    detail: dict[str, Any] = pydantic.Field(default_factory=dict)


@activities.defn(start_to_close=timedelta(seconds=30))
async def complete_onboarding_step(input: CompleteStepInput) -> datetime:
    """Record ``step`` of ``onboarding_id`` as done (once); returns when it was first done."""
    await activities.preload(*STORE)
    from operations import store

    async with db.session() as s:
        done = await store.complete_step(s, input.onboarding_id, input.step, input.detail)
    return done.replace(tzinfo=UTC) if done.tzinfo is None else done
