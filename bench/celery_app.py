"""The Celery peer: one no-op task, Redis as broker and result backend (a dedicated DB).

NON-DURABLE by default, and measured that way: a worker killed mid-task loses it (no
``acks_late``), and results live in Redis with no history. This is the configuration most Celery
deployments run, which is what users compare Lanes against.

    celery -A bench.celery_app worker --queues lanes-bench ...
"""

from __future__ import annotations

import os
from typing import Any

from celery import Celery

__all__ = ["REDIS_URL", "app", "noop"]

REDIS_URL = os.environ.get("LANES_BENCH_REDIS_URL", "redis://127.0.0.1:6379/15")
"""Broker and backend. DB 15 is the benchmark's own: it is flushed before and after each run."""

app = Celery("lanes_bench", broker=REDIS_URL, backend=REDIS_URL)
app.conf.update(
    broker_connection_retry_on_startup=True,
    task_serializer="json",
    result_serializer="json",
    accept_content=["json"],
    result_expires=3600,
    worker_hijack_root_logger=False,
)


@app.task(name="bench.noop")  # type: ignore[untyped-decorator]  # Celery is untyped
def noop() -> dict[str, Any]:
    """The same no-op job as ``lanes.ping``: answer with the worker's PID."""
    return {"pid": os.getpid()}
