"""Periodic work of the operations domain, declared as data and synced when its worker starts."""

from datetime import timedelta

from core.schedules import Schedule
from core.task_queues import TaskQueue

SCHEDULES: list[Schedule] = [
    Schedule(
        id="operations.heartbeat",
        # Served on every queue, so the schedule says which lane it proves alive.
        target="lanes.ping",
        task_queue=TaskQueue.OPERATIONS,
        every=timedelta(minutes=1),
        description="Heartbeat: a lanes.ping through the operations lane every minute.",
    ),
]
