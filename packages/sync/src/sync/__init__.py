"""The sync domain: repositories' commits and pull requests from git checkouts and GitHub APIs.

Activities live in `activities/` (one module per topic), workflows in `workflows/` (one class per
file), periodic work in `schedules.py`. Everything here runs on the `sync` task queue.
"""

from core.task_queues import TaskQueue

TASK_QUEUE = TaskQueue.SYNC
