"""The raw-SDK worker: the workflows of :mod:`bench.raw_workflows` and nothing around them.

No registry, no pydantic converter, no health server, no shutdown logic beyond the SDK's: the
baseline Lanes' layer is measured against. The benchmarks run it as a subprocess::

    python -m bench.raw_worker --task-queue raw-... --ready-file /tmp/ready
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

from temporalio.client import Client
from temporalio.worker import Worker

from bench.raw_workflows import RawPingWorkflow, RawStepsWorkflow, raw_noop


async def serve(address: str, task_queue: str, ready_file: Path | None) -> None:
    """Poll ``task_queue`` until SIGTERM/SIGINT; touch ``ready_file`` once polling."""
    client = await Client.connect(address)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    async with Worker(
        client,
        task_queue=task_queue,
        workflows=[RawPingWorkflow, RawStepsWorkflow],
        activities=[raw_noop],
    ):
        if ready_file is not None:
            # A few bytes to a local file, once: the benchmark's readiness signal.
            ready_file.write_text(str(os.getpid()))  # noqa: ASYNC240
        await stop.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description="Raw Temporal SDK worker for the benchmarks.")
    parser.add_argument("--task-queue", required=True)
    parser.add_argument("--address", default=os.environ.get("TEMPORAL_ADDRESS", "127.0.0.1:7233"))
    parser.add_argument("--ready-file", type=Path)
    args = parser.parse_args()
    asyncio.run(serve(args.address, args.task_queue, args.ready_file))
    # The SDK's runtime has been seen to abort the interpreter at exit after a clean shutdown.
    os._exit(0)


if __name__ == "__main__":
    main()
