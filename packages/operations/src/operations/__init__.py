"""The operations domain: uptime checks, outbound webhooks, reminders, onboarding, retention.

Activities live in `activities/` (one module per topic), workflows in `workflows/` (one class per
file), periodic work in `schedules.py`. Everything here runs on the `operations` task queue.
"""

from core.task_queues import TaskQueue

TASK_QUEUE = TaskQueue.OPERATIONS
