"""``lanes.ping``: the built-in activity every worker serves on every queue.

The canary that says a lane is alive (``lanes ping``) and the no-op job the benchmarks use.
"""

from __future__ import annotations

import os
import socket
from datetime import timedelta

import pydantic
from temporalio import activity

from core import activities

__all__ = ["PingInput", "PingResult", "ping"]


class PingInput(pydantic.BaseModel):
    """Optional payload echoed back, to measure payload cost."""

    echo: str | None = None


class PingResult(pydantic.BaseModel):
    """Who answered."""

    task_queue: str
    worker: str
    hostname: str
    pid: int
    echo: str | None = None


@activities.defn(name="lanes.ping", start_to_close=timedelta(seconds=30))
async def ping(input: PingInput | None = None) -> PingResult:
    """Answer with the worker's identity and queue."""
    info = activity.info()
    return PingResult(
        task_queue=info.task_queue,
        worker=_client_identity(),
        hostname=socket.gethostname(),
        pid=os.getpid(),
        echo=input.echo if input else None,
    )


def _client_identity() -> str:
    try:
        return activity.client().identity
    except RuntimeError:  # no client in this context (e.g. a bare test harness)
        return ""
