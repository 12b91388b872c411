"""``python -m bench.profile_bulk``: where a ``dispatch_many`` worker spends its CPU per job.

Starts the benchmark's own dev server and one ``lanes worker --queues sync``, runs a warm-up bulk,
then records the worker with py-spy (a sampling profiler attached to the subprocess) while a bulk of
``--n`` no-op jobs runs, and prints the jobs/s, the worker's CPU per job and the top functions by
own time; the raw samples (collapsed stacks) stay in the bench log folder.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import time
from collections import Counter
from pathlib import Path

from bench._processes import cpu_seconds, dev_server, log_dir
from bench._workers import lanes_worker
from core.client import connect, reset_client
from core.dispatch import dispatch_many


async def _bulk(client: object, n: int, batch_size: int) -> float:
    began = time.monotonic()
    bulk = await dispatch_many(
        "lanes.ping",
        [None] * n,
        task_queue="sync",
        options={"local": True},
        batch_size=batch_size,
        client=client,  # type: ignore[arg-type]
    )
    results = await bulk.results()
    if len(results) != n or not all(r.ok for r in results):
        raise RuntimeError("bulk lost or failed jobs")
    return time.monotonic() - began


def top_frames(raw: Path, count: int = 15) -> list[tuple[float, str]]:
    """The functions the worker's samples were in (own time), largest share first."""
    own: Counter[str] = Counter()
    for line in raw.read_text().splitlines():
        stack, _, samples = line.rpartition(" ")
        if stack and samples.isdigit():
            own[stack.split(";")[-1]] += int(samples)
    total = sum(own.values()) or 1
    return [(100 * n / total, frame) for frame, n in own.most_common(count)]


async def main(n: int, batch_size: int, profile: bool) -> None:
    from bench.__main__ import _migrated_database

    await _migrated_database()
    async with dev_server() as server:
        os.environ["TEMPORAL_ADDRESS"] = server.address
        reset_client()
        async with lanes_worker(server.address, "sync") as worker:
            client = await connect(target_host=server.address)
            await _bulk(client, min(n, 500), batch_size)
            recorder = None
            raw = log_dir() / "profile_bulk.txt"
            if profile:
                recorder = subprocess.Popen(  # noqa: ASYNC220 - returns at once; py-spy runs on
                    [
                        "py-spy",
                        "record",
                        "--pid",
                        str(worker.pid),
                        "--rate",
                        "200",
                        "--format",
                        "raw",
                        "--output",
                        str(raw),
                        "--nonblocking",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
                await asyncio.sleep(1.0)
            cpu = cpu_seconds(worker.pid)
            wall = await _bulk(client, n, batch_size)
            cpu = cpu_seconds(worker.pid) - cpu
            per_job = cpu / n * 1000
            print(
                f"{n} jobs in {wall:.2f}s: {n / wall:.0f} jobs/s; worker CPU {per_job:.3f} ms/job"
            )
            if recorder is not None:
                recorder.send_signal(2)
                recorder.wait(timeout=60)
                print(f"profile (collapsed stacks): {raw}")
                for share, frame in top_frames(raw):
                    print(f"  {share:5.1f}%  {frame}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--n", type=int, default=4000)
    parser.add_argument("--batch-size", type=int, default=500)
    parser.add_argument("--no-profile", action="store_true")
    args = parser.parse_args()
    asyncio.run(main(args.n, args.batch_size, not args.no_profile))
