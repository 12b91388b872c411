"""The onboarding steps' hands on the database: each completed step is a row.

``OnboardingWorkflow`` runs its steps as activities; this one records a step as done in
``operations_onboarding_steps`` (an upsert on onboarding + step, so a retried step writes once)
and returns when it was done. What a step *tells* people goes through ``notify``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
from sqlalchemy import select

from core import activities, db
from core.db import upsert
from operations.models import OnboardingStep

__all__ = ["CompleteStepInput", "complete_onboarding_step"]


class CompleteStepInput(pydantic.BaseModel):
    onboarding_id: str
    step: str = pydantic.Field(min_length=1, max_length=50)
    detail: dict[str, Any] = pydantic.Field(default_factory=dict)


@activities.defn(start_to_close=timedelta(seconds=30))
async def complete_onboarding_step(input: CompleteStepInput) -> datetime:
    """Record ``step`` of ``onboarding_id`` as done (once); returns when it was first done."""
    async with db.session() as s:
        await upsert(
            s,
            OnboardingStep,
            [
                {
                    "onboarding_id": input.onboarding_id,
                    "step": input.step,
                    "detail": input.detail,
                    "done_at": datetime.now(UTC),
                }
            ],
            key=["onboarding_id", "step"],
            update=(),
        )
        done = (
            await s.execute(
                select(OnboardingStep.done_at).where(
                    OnboardingStep.onboarding_id == input.onboarding_id,
                    OnboardingStep.step == input.step,
                )
            )
        ).scalar_one()
    return done.replace(tzinfo=UTC) if done.tzinfo is None else done
