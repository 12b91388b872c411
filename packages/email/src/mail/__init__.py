"""The email domain: transactional email and campaigns.

Its import name is `mail`: the standard library owns `email`.

Activities live in `activities/` (one module per topic), workflows in `workflows/` (one class per
file), periodic work in `schedules.py`. Everything here runs on the `email` task queue.
"""

from core.task_queues import TaskQueue

TASK_QUEUE = TaskQueue.EMAIL
