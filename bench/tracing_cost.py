"""Figure 5: what tracing costs per job — off against on (exporting to memory).

"off" is what a worker without tracing configured runs (``core.client`` adds no
``TracingInterceptor`` then); "on" exports every span to memory. ``bench/tracing.py`` is the
detailed standalone version.

Both sides run in this process: a client and an in-process worker on their own queue, identical
but for the interceptor, so the difference is the tracing work on the client, workflow and
activity side. CPU is this process's CPU per job (client + worker + SDK core threads).
"""

from __future__ import annotations

import time
import uuid
from contextlib import AsyncExitStack
from typing import Any

from temporalio.client import Client

from bench._jobs import lanes_burst
from bench._report import Row, alternate, compare
from bench.options import BenchOptions
from core.client import connect
from core.domains import Domain
from core.worker import build_worker

FIGURE = "5 tracing"


async def run(address: str, options: BenchOptions) -> list[Row]:
    # Imported only here: OpenTelemetry is installed only where core.telemetry needs it.
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
    from temporalio.contrib.opentelemetry import TracingInterceptor

    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exported))
    clients = {
        "off": await connect(target_host=address, interceptors=[]),
        "on": await connect(
            target_host=address, interceptors=[TracingInterceptor(provider.get_tracer("bench"))]
        ),
    }
    n = max(20, options.e2e_n[0] // 5)
    async with AsyncExitStack() as stack:
        sides: dict[str, Any] = {}
        for name, client in clients.items():
            queue = f"bench-tracing-{name}-{uuid.uuid4().hex[:6]}"
            domain = Domain(name="bench", package="", task_queue=queue)
            await stack.enter_async_context(build_worker(client, domain, task_queue=queue))
            await lanes_burst(client, 10, queue)  # warm-up
            sides[name] = _side(client, queue, n)
        exported.clear()
        print(f"  tracing: {n} jobs per side per round, worker in this process", flush=True)
        samples = await alternate(options.rounds, sides)
    spans = len(exported.get_finished_spans())
    per_job = spans / max(1, n * options.rounds)
    return [
        compare(
            FIGURE,
            samples,
            "jobs_per_s",
            "jobs/s",
            lanes="on",
            other="off",
            other_label="tracing off",
            note=f"on = in-memory exporter, {per_job:.1f} spans/job",
        ),
        compare(
            FIGURE,
            samples,
            "process_cpu_ms_per_job",
            "ms CPU",
            lanes="on",
            other="off",
            other_label="tracing off",
        ),
    ]


def _side(client: Client, queue: str, n: int) -> Any:
    async def one_round() -> dict[str, float]:
        cpu = time.process_time()
        _, wall, _ = await lanes_burst(client, n, queue)
        return {
            "jobs_per_s": n / wall,
            "process_cpu_ms_per_job": (time.process_time() - cpu) / n * 1000,
        }

    return one_round
