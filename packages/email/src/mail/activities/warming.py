"""``raise_warming_limits``: the daily step of every warming sending domain (see
:mod:`mail.warming`), run by the ``mail.raise_warming_limits`` schedule."""

from __future__ import annotations

from datetime import timedelta

import pydantic

from core import activities, db

STORE = ("core.db.engine", "mail.store")
"""What the activity's body imports on its first job (SQLAlchemy), not at worker start."""

__all__ = ["WarmingRaised", "raise_warming_limits"]


class WarmingRaised(pydantic.BaseModel):
    raised: dict[str, int | None]
    """Domain → its new daily limit (``None``: warmed, no limit)."""


@activities.defn(start_to_close=timedelta(minutes=1))
async def raise_warming_limits() -> WarmingRaised:
    """Move every warming domain one step up the ramp, at most once per UTC day."""
    await activities.preload(*STORE)
    from mail import store

    async with db.session() as s:
        return WarmingRaised(raised=await store.raise_warming(s, store.today()))
