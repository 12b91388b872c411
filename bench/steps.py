"""Figure 6b: one workflow running K sequential no-op activities — time and history per step.

Lanes' ``BenchStepsWorkflow`` (each step through :func:`core.durable.run_activity`) on the Lanes
worker against the raw ``RawStepsWorkflow`` on the raw worker, alternating. A step is a
round trip worker → server → worker, so its time is bounded by the server's task dispatch, not by
either side's code; the history shows what a long workflow accumulates (Temporal's limit is
51,200 events per run, hence continue-as-new in long-running workflows).
"""

from __future__ import annotations

import time
import uuid
from typing import Any

from temporalio.client import Client

from bench._jobs import history_size
from bench._processes import cpu_seconds
from bench._report import Row, alternate, compare
from bench._stack import LANES_QUEUE, Stack
from bench.options import BenchOptions


def _side(
    client: Client, workflow: str, queue: str, steps: int, worker_pid: int, server_pid: int
) -> Any:
    async def one_round() -> dict[str, float]:
        cpu = {"worker": cpu_seconds(worker_pid), "server": cpu_seconds(server_pid)}
        began = time.monotonic()
        handle = await client.start_workflow(
            workflow, steps, id=f"bench-steps-{uuid.uuid4()}", task_queue=queue
        )
        await handle.result()
        wall = time.monotonic() - began
        sizes = await history_size([handle])
        return {
            "ms_per_step": wall / steps * 1000,
            "worker_cpu_ms_per_step": (cpu_seconds(worker_pid) - cpu["worker"]) / steps * 1000,
            "server_cpu_ms_per_step": (cpu_seconds(server_pid) - cpu["server"]) / steps * 1000,
            "history_events": sizes["history_events"],
            "history_kb": sizes["history_bytes"] / 1024,
        }

    return one_round


async def run(stack: Stack, options: BenchOptions) -> list[Row]:
    # Warm-up: the first run of each workflow type pays for its sandbox import.
    await stack.lanes_client.execute_workflow(
        "BenchStepsWorkflow", 2, id=f"bench-warm-{uuid.uuid4()}", task_queue=LANES_QUEUE
    )
    await stack.raw_client.execute_workflow(
        "RawStepsWorkflow", 2, id=f"bench-warm-{uuid.uuid4()}", task_queue=stack.raw_queue
    )
    rows: list[Row] = []
    for steps in options.steps:
        rounds = options.steps_rounds_long if steps >= 1000 else options.rounds
        print(f"  {steps} sequential steps per workflow, {rounds} round(s)", flush=True)
        samples = await alternate(
            rounds,
            {
                "lanes": _side(
                    stack.lanes_client,
                    "BenchStepsWorkflow",
                    LANES_QUEUE,
                    steps,
                    stack.lanes.pid,
                    stack.server_pid,
                ),
                "raw": _side(
                    stack.raw_client,
                    "RawStepsWorkflow",
                    stack.raw_queue,
                    steps,
                    stack.raw.pid,
                    stack.server_pid,
                ),
            },
        )
        figure = f"6 steps K={steps}"
        for metric, unit in (
            ("ms_per_step", "ms"),
            ("worker_cpu_ms_per_step", "ms CPU"),
            ("server_cpu_ms_per_step", "ms CPU"),
            ("history_events", "events"),
            ("history_kb", "KiB"),
        ):
            rows.append(compare(figure, samples, metric, unit, other="raw", other_label="raw SDK"))
    return rows
