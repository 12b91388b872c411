"""Periodic work of the operations domain, declared as data and synced when its worker starts."""

from datetime import timedelta

from core.schedules import Schedule
from core.task_queues import TaskQueue
from operations.activities.maintenance import PurgeExpiredInput
from operations.activities.uptime import ProcessDueChecksInput

SCHEDULES: list[Schedule] = [
    Schedule(
        id="operations.heartbeat",
        # Served on every queue, so the schedule says which lane it proves alive.
        target="lanes.ping",
        task_queue=TaskQueue.OPERATIONS,
        every=timedelta(minutes=1),
        description="Heartbeat: a lanes.ping through the operations lane every minute.",
    ),
    Schedule(
        id="operations.uptime-process-due-checks",
        target="process_due_checks",
        input=ProcessDueChecksInput(),
        every=timedelta(seconds=60),
        # overlap=skip (the default): a run still checking when the next is due is not doubled.
        description="Uptime: run every due monitor check, open and resolve incidents.",
    ),
    Schedule(
        id="operations.maintenance-purge",
        target="purge_expired",
        input=PurgeExpiredInput(),
        cron="30 3 * * *",
        jitter=timedelta(minutes=10),
        description="Retention: delete rows older than their owner declares, in batches.",
    ),
]
