"""What payload encryption costs per job: CPU per job with and without ``core.codec``.

    uv run python -m bench.codec [--jobs 40] [--rounds 6] [--concurrency 8]

Starts its own Temporal dev server (stopped at the end) and, in this one process, four clients,
each with a worker on its own queue, that differ only in their data converter:

- ``plain`` and ``plain-2``: the pydantic converter alone (the raw SDK's converter), twice, so the
  distance between two identical variants shows the noise of the run;
- ``no-keys``: what every Lanes process runs without ``LANES_ENCRYPTION_KEYS`` (no codec, a
  converter that refuses encrypted payloads by key id);
- ``encrypted``: AES-256-GCM with a key, failure messages encoded too.

Each round runs every variant once, in rotating order, ``--jobs`` ``lanes.ping`` jobs (with a
200-byte echo payload) with ``--concurrency`` in flight. Reported: median CPU time of this process
(client + worker + SDK core threads) per job and its ratio to ``plain``; the target is
``encrypted`` at most 1.05x. The codec alone (encode and decode of one job's payloads, no server)
is timed too, because on a shared machine the end-to-end difference sits inside the noise.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import logging
import os
import statistics
import time
import uuid
from contextlib import AsyncExitStack

from temporalio.api.common.v1 import Payload
from temporalio.contrib.pydantic import pydantic_data_converter

from bench.tracing import Variant, serving
from core.client import connect
from core.codec import EncryptionCodec, data_converter, parse_keys
from core.dev.server import DevServer
from core.dispatch import dispatch
from core.settings import LanesSettings
from core.telemetry import configure_logging
from core.worker import exit_process

ECHO = "x" * 200


async def run_jobs(variant: Variant, jobs: int, concurrency: int) -> tuple[float, float]:
    gate = asyncio.Semaphore(concurrency)

    async def one() -> None:
        async with gate:
            job = await dispatch(
                "lanes.ping",
                {"echo": ECHO},
                task_queue=variant.queue,
                id=f"bench-{uuid.uuid4()}",
                client=variant.client,
            )
            await job.result()

    wall, cpu = time.perf_counter(), time.process_time()
    await asyncio.gather(*(one() for _ in range(jobs)))
    return time.perf_counter() - wall, time.process_time() - cpu


async def main(jobs: int, rounds: int, concurrency: int) -> None:
    configure_logging(fmt="json", level="WARNING")
    logging.getLogger("temporalio").setLevel(logging.ERROR)
    key = f"bench:{base64.b64encode(os.urandom(32)).decode()}"
    converters = {
        "plain": pydantic_data_converter,
        # The same converter again: how far apart two identical variants land is the noise.
        "plain-2": pydantic_data_converter,
        "no-keys": data_converter(LanesSettings()),
        "encrypted": data_converter(LanesSettings(encryption_keys=key)),
    }
    async with DevServer(ui_port=None) as server, AsyncExitStack() as stack:
        variants = []
        for name, converter in converters.items():
            queue = f"bench-codec-{name}-{uuid.uuid4().hex[:6]}"
            client = await connect(target_host=server.address, data_converter=converter)
            await stack.enter_async_context(serving(client, queue))
            variants.append(Variant(name, client, queue))
        for variant in variants:  # warm-up
            await run_jobs(variant, max(5, jobs // 4), concurrency)
        for index in range(rounds):
            order = variants[index % len(variants) :] + variants[: index % len(variants)]
            for variant in order:
                wall, cpu = await run_jobs(variant, jobs, concurrency)
                variant.wall.append(wall / jobs)
                variant.cpu.append(cpu / jobs)

    base = statistics.median(variants[0].cpu)
    print(f"codec cost: {rounds} rounds x {jobs} lanes.ping jobs, {concurrency} in flight")
    print(f"{'variant':<10} {'cpu ms/job':>11} {'(min)':>8} {'ratio':>6}")
    for v in variants:
        cpu = statistics.median(v.cpu)
        print(f"{v.name:<10} {cpu * 1000:11.2f} {min(v.cpu) * 1000:8.2f} {cpu / base:6.3f}")
    await codec_alone(key)


async def codec_alone(key: str, jobs: int = 2000) -> None:
    """One job's payloads (input and result, each encoded once and decoded once on each side)."""
    codec = EncryptionCodec(parse_keys(key))
    payloads = [Payload(metadata={"encoding": b"json/plain"}, data=ECHO.encode())] * 2
    started = time.process_time()
    for _ in range(jobs):
        sealed = await codec.encode(payloads)
        await codec.decode(sealed)
        await codec.decode(sealed)
    per_job = (time.process_time() - started) / jobs * 1e6
    print(f"codec alone: {per_job:.0f} us CPU per job (2 payloads encoded, decoded twice)")


def cli() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=40, help="jobs per variant per round")
    parser.add_argument("--rounds", type=int, default=6, help="measured rounds")
    parser.add_argument("--concurrency", type=int, default=8, help="jobs in flight")
    args = parser.parse_args()
    asyncio.run(main(args.jobs, args.rounds, args.concurrency))
    exit_process(0)


if __name__ == "__main__":
    cli()
