"""Lanes core: the shared machinery every domain worker stands on.

Workflow-safe modules (no I/O at import, importable inside the workflow sandbox):
``core.task_queues``, ``core.retry``, ``core.activities``, ``core.durable`` and
``core.workflows``. Everything else does I/O and must not be imported from workflow code.
"""
