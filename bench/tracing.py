"""What tracing costs per dispatched job: off, disabled (the default), exporting.

    uv run python -m bench.tracing [--jobs 40] [--rounds 6] [--concurrency 8]

Starts its own Temporal dev server (stopped at the end) and, in this one process, three clients,
each with a worker on its own queue, that differ only in tracing:

- ``off``: no TracingInterceptor at all (the raw SDK);
- ``disabled``: what every Lanes process runs with no ``OTEL_*`` configured: the interceptor is
  installed but the global tracer is OpenTelemetry's no-op;
- ``exporting``: an SDK tracer provider with a batch processor into an in-memory exporter, so every
  span is created, ended and exported (no network, so this is the cost inside our process).

Each round runs every variant once, in rotating order (so drift on a shared machine hits all of
them alike), ``--jobs`` ``lanes.ping`` jobs with ``--concurrency`` in flight. Reported: median
wall time per job and median CPU time of this process (client + worker + SDK core threads) per
job (and the minimum over rounds, the least disturbed one on a shared machine), and their ratio
to ``disabled``. The server's own CPU is not included: it does not change with tracing.

On a shared 2-core machine the end-to-end differences sit inside the noise, so the script also
times the five spans of one job alone (no server): no-op tracer against an SDK tracer exporting
through a batch processor to memory.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import statistics
import time
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.client import connect
from core.dev.server import DevServer
from core.dispatch import dispatch
from core.domains import Domain
from core.telemetry import configure_logging
from core.worker import build_worker, exit_process


@dataclass
class Variant:
    name: str
    client: Client
    queue: str
    wall: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)


async def run_jobs(variant: Variant, jobs: int, concurrency: int) -> tuple[float, float]:
    """Run ``jobs`` pings through ``variant``; (wall seconds, process CPU seconds)."""
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            job = await dispatch(
                "lanes.ping",
                task_queue=variant.queue,
                id=f"bench-{uuid.uuid4()}",
                client=variant.client,
            )
            await job.result()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(jobs)))
    return time.perf_counter() - wall, time.process_time() - cpu


@asynccontextmanager
async def serving(client: Client, queue: str) -> AsyncIterator[None]:
    async with build_worker(client, Domain(name="bench", package="", task_queue=queue)):
        yield


async def main(jobs: int, rounds: int, concurrency: int) -> None:
    # The worker logs one line per activity at INFO; the benchmark measures tracing, not logging.
    configure_logging(fmt="json", level="WARNING")
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    exported = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(BatchSpanProcessor(exported))

    async with DevServer(ui_port=None) as server, AsyncExitStack() as stack:
        address = server.address
        clients: dict[str, Callable[[], Coroutine[Any, Any, Client]]] = {
            "off": lambda: connect(target_host=address, interceptors=[]),
            "disabled": lambda: connect(target_host=address),
            "exporting": lambda: connect(
                target_host=address,
                interceptors=[TracingInterceptor(provider.get_tracer("bench"))],
            ),
        }
        variants = []
        for name, make in clients.items():
            queue = f"bench-tracing-{name}-{uuid.uuid4().hex[:6]}"
            variant = Variant(name, await make(), queue)
            await stack.enter_async_context(serving(variant.client, queue))
            variants.append(variant)

        for variant in variants:  # warm-up: imports, connections, sticky caches
            await run_jobs(variant, max(5, jobs // 4), concurrency)
        provider.force_flush()
        exported.clear()

        for index in range(rounds):
            order = variants[index % len(variants) :] + variants[: index % len(variants)]
            for variant in order:
                wall, cpu = await run_jobs(variant, jobs, concurrency)
                variant.wall.append(wall / jobs)
                variant.cpu.append(cpu / jobs)
        provider.force_flush()
        spans = len(exported.get_finished_spans())
        exported.clear()

    report(variants, jobs, rounds, concurrency, spans)
    span_cost()


def span_cost(jobs: int = 5000) -> None:
    """The spans of one job alone, without the server's noise: 5 spans, as the interceptor makes."""
    from opentelemetry import trace

    names = ["StartWorkflow", "RunWorkflow", "StartActivity", "RunActivity", "CompleteWorkflow"]
    provider = TracerProvider()
    # A queue big enough that no span is dropped (dropping would make exporting look cheap).
    processor = BatchSpanProcessor(InMemorySpanExporter(), max_queue_size=len(names) * jobs)
    provider.add_span_processor(processor)
    results = {}
    for label, tracer in (
        ("disabled", trace.NoOpTracer()),
        ("exporting", provider.get_tracer("bench")),
    ):
        started = time.process_time()
        for _ in range(jobs):
            for name in names:
                with tracer.start_as_current_span(name, attributes={"temporalWorkflowID": "x"}):
                    pass
        provider.force_flush()
        results[label] = (time.process_time() - started) / jobs * 1e6
    print(
        f"spans alone, CPU per job: disabled {results['disabled']:.0f} us, "
        f"exporting {results['exporting']:.0f} us"
    )


def report(variants: list[Variant], jobs: int, rounds: int, concurrency: int, spans: int) -> None:
    base = next(v for v in variants if v.name == "disabled")
    print(f"tracing cost: {rounds} rounds x {jobs} lanes.ping jobs, {concurrency} in flight")
    print("per job: median of rounds (min: least disturbed round); ratio to disabled")
    print(f"{'variant':<10} {'wall ms':>16} {'ratio':>6} {'cpu ms':>16} {'ratio':>6}")
    for v in variants:
        wall, cpu = statistics.median(v.wall), statistics.median(v.cpu)
        print(
            f"{v.name:<10} {wall * 1000:7.2f} ({min(v.wall) * 1000:6.2f}) "
            f"{wall / statistics.median(base.wall):6.2f} "
            f"{cpu * 1000:7.2f} ({min(v.cpu) * 1000:6.2f}) "
            f"{cpu / statistics.median(base.cpu):6.2f}"
        )
    per_job = spans / (rounds * jobs)
    print(f"exporting: {spans} spans exported, {per_job:.1f} per job")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40, help="jobs per variant per round")
    parser.add_argument("--rounds", type=int, default=6, help="measured rounds")
    parser.add_argument("--concurrency", type=int, default=8, help="jobs in flight")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.rounds, args.concurrency))
    # End deliberately: the SDK's core has been seen to abort the interpreter at exit.
    exit_process(0)


if __name__ == "__main__":
    cli()
