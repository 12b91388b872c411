"""``purge_expired``: the daily retention cleanup, over what every owner declared.

Core collects the declarations (:func:`core.db.retention.declared`: core's ledger, each installed
domain's ``models.RETENTION``); this activity purges each table in bounded batches, heartbeating
after every batch. A run that stops half-way (``max_batches``, a dead worker) leaves the rest for
the next run or the retry: every batch is its own committed transaction.
"""

from __future__ import annotations

from datetime import timedelta

import pydantic
from temporalio import activity
from temporalio.exceptions import ApplicationError

from core import activities

RETENTION = ("core.db.retention",)
"""What the activity's body imports on its first job (SQLAlchemy), not at worker start."""

__all__ = ["PurgeExpiredInput", "PurgeExpiredResult", "PurgedTable", "purge_expired"]


class PurgeExpiredInput(pydantic.BaseModel):
    batch_size: int = pydantic.Field(default=1000, ge=1, le=50_000)
    """Rows deleted per transaction. Default: 1,000."""
    max_batches: int | None = pydantic.Field(default=1000, ge=1)
    """Batches per table in one run; the rest waits for the next run. Default: 1,000."""
    tables: list[str] | None = None
    """Only these tables. Default: every declared one."""


class PurgedTable(pydantic.BaseModel):
    table: str
    deleted: int
    cutoff: str
    complete: bool


class PurgeExpiredResult(pydantic.BaseModel):
    tables: list[PurgedTable] = pydantic.Field(default_factory=list)


@activities.defn(start_to_close=timedelta(hours=1), heartbeat=timedelta(minutes=2))
async def purge_expired(input: PurgeExpiredInput) -> PurgeExpiredResult:
    """Delete rows older than their declared retention, table by table, in batches."""
    result = PurgeExpiredResult()
    await activities.preload(*RETENTION)
    from core.db import retention

    try:
        declarations = retention.declared()
    except LookupError as err:  # a declaration names a table or column that does not exist
        raise ApplicationError(
            f"{err}; fix the RETENTION list that declares it",
            type="InvalidRetention",
            non_retryable=True,
        ) from None
    for declared in declarations:
        if input.tables is not None and declared.table not in input.tables:
            continue
        purged = await retention.purge(
            declared,
            batch_size=input.batch_size,
            max_batches=input.max_batches,
            on_batch=_heartbeat,
        )
        activity.logger.info("purged %d rows of %s", purged.deleted, purged.table)
        result.tables.append(
            PurgedTable(
                table=purged.table,
                deleted=purged.deleted,
                cutoff=purged.cutoff.isoformat(),
                complete=purged.complete,
            )
        )
    return result


def _heartbeat(deleted: int) -> None:
    if activity.in_activity():
        activity.heartbeat(deleted)
