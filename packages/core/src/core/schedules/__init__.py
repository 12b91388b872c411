"""Schedules as data: each domain declares its periodic work in ``<domain>/schedules.py``.

::

    from datetime import timedelta

    from core.schedules import Schedule
    from core.task_queues import TaskQueue

    SCHEDULES: list[Schedule] = [
        Schedule(
            id="operations.heartbeat",
            target="lanes.ping",
            task_queue=TaskQueue.OPERATIONS,
            every=timedelta(minutes=1),
            description="Proves the operations lane runs scheduled work.",
        ),
    ]

Every domain worker syncs its own list on start (:func:`sync_schedules` with owner = domain), and
``lanes schedules sync`` does it from the shell. See ``_sync`` for how ownership, changes, pauses
and concurrent replicas are handled, and ``_declaration`` for validation.
"""

from core.schedules._declaration import ResolvedSchedule, Schedule, ScheduleError
from core.schedules._sync import (
    DECLARATION_MEMO,
    OWNER_MEMO,
    SyncSummary,
    build_schedule,
    declaration_memo,
    describe_or_none,
    load_schedules,
    owned_schedule_ids,
    owner_of,
    resolve_all,
    sync_domain_schedules,
    sync_schedules,
)

__all__ = [
    "DECLARATION_MEMO",
    "OWNER_MEMO",
    "ResolvedSchedule",
    "Schedule",
    "ScheduleError",
    "SyncSummary",
    "build_schedule",
    "declaration_memo",
    "describe_or_none",
    "load_schedules",
    "owned_schedule_ids",
    "owner_of",
    "resolve_all",
    "sync_domain_schedules",
    "sync_schedules",
]
