"""A side-effecting activity for bulk tests, served by a worker subprocess via --include.

Each attempt records an execution; the effect itself is keyed by the job's activity id, so a job
that runs twice (its completion lost with a killed worker) still has one effect.
"""

import sqlite3
import time
from datetime import timedelta

import pydantic
from temporalio import activity

from core import activities


class Effect(pydantic.BaseModel):
    db: str
    value: int
    sleep: float = 0.0
    key: str | None = None
    """The effect's idempotency key. Default: the job's activity id (its key in a bulk)."""


@activities.defn(
    name="test.record_effect",
    queue="operations",
    start_to_close=timedelta(seconds=30),
    local=True,
)
def record_effect(input: Effect) -> int:
    """Record the effect once per job key and return the value doubled."""
    key = input.key or activity.info().activity_id
    time.sleep(input.sleep)
    with sqlite3.connect(input.db, timeout=30) as db:
        db.execute("CREATE TABLE IF NOT EXISTS effects (key TEXT PRIMARY KEY, value INTEGER)")
        db.execute("CREATE TABLE IF NOT EXISTS executions (key TEXT)")
        db.execute("INSERT INTO executions (key) VALUES (?)", (key,))
        db.execute("INSERT OR IGNORE INTO effects (key, value) VALUES (?, ?)", (key, input.value))
    return input.value * 2
