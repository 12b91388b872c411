"""A slow activity served by a real `sync-worker` subprocess (via LANES_INCLUDE) in drain tests."""

import asyncio
from pathlib import Path

import pydantic
from temporalio import activity

from core import activities


class SlowStep(pydantic.BaseModel):
    seconds: float
    marker_dir: str


@activities.defn(name="test.slow_step", queue="sync")
async def slow_step(input: SlowStep) -> dict[str, object]:
    """Say it started, take its time, then finish."""
    marker = Path(input.marker_dir)
    (marker / "started").write_text(str(activity.info().attempt))
    await asyncio.sleep(input.seconds)
    (marker / "finished").write_text(str(activity.info().attempt))
    return {"attempt": activity.info().attempt, "slept": input.seconds}
