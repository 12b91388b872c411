"""The analysis domain: commits, pull requests and developer profiles (LLM or built-in analyzer).

Activities live in `activities/` (one module per topic), workflows in `workflows/` (one class per
file), periodic work in `schedules.py`. Everything here runs on the `analysis` task queue.
"""

from core.task_queues import TaskQueue

TASK_QUEUE = TaskQueue.ANALYSIS
