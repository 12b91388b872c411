"""The operations domain under load: one uptime run over many monitors, and many reminders.

    uv run python -m bench.operations                 # quick: 1,000 monitors, 500 reminders
    uv run python -m bench.operations --full          # 1,000 monitors, 10,000 reminders
    uv run python -m bench.operations --monitors 5000 --reminders 2000 --latency-ms 50

Starts its own Temporal dev server (stopped by PID at the end), a loopback HTTP server the
monitors point at, and an operations worker in this process, on a fresh SQLite file.

- **Uptime**: ``--monitors`` due monitors, then one run of ``process_due_checks`` exactly as the
  ``operations.uptime-process-due-checks`` schedule starts it (a ``SingleActivityWorkflow``).
  Reported: checks/s over the checking phase, the whole run's duration (checks, writes,
  workflow) and that duration as a share of the 60 s interval the schedule allows it.
- **Reminders**: ``--reminders`` ``ReminderWorkflow`` runs all due at the same moment (a few
  seconds after the last one started; no email, no webhook, so only Temporal is measured).
  Reported: starts/s, timers fired per second from the due time until the last one completed,
  and history events per reminder (from one reminder's history).

Absolute figures depend on the machine; compare them within one run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from aiohttp import web
from sqlalchemy import insert

from core.client import connect
from core.db import dispose_engines, migrations
from core.dev.server import DevServer
from core.dev.testing import running_worker
from core.dispatch import dispatch
from core.settings import settings
from core.telemetry import configure_logging
from core.worker import exit_process
from operations.activities.uptime import ProcessDueChecksResult
from operations.models import Monitor
from operations.settings import operations_settings
from operations.workflows import ReminderWorkflow
from operations.workflows.reminder import ReminderInput

AWAITING = 200
"""Results awaited at once: the server allows ~1,200 long polls per namespace."""


async def target_server(latency_ms: float) -> tuple[web.AppRunner, str]:
    async def health(_: web.Request) -> web.Response:
        if latency_ms:
            await asyncio.sleep(latency_ms / 1000)
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/health/{n}", health)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


async def uptime(client: Any, queue: str, base: str, monitors: int) -> dict[str, float]:
    from core import db

    async with db.session() as s:
        await s.execute(
            insert(Monitor),
            [
                {
                    "url": f"{base}/health/{n}",
                    "method": "GET",
                    "expected_status": 200,
                    "timeout_seconds": 10.0,
                    "interval_seconds": 60,
                    "failure_threshold": 3,
                    "notify_emails": [],
                    "enabled": True,
                    "status": "unknown",
                    "consecutive_failures": 0,
                }
                for n in range(monitors)
            ],
        )
    started = time.perf_counter()
    job = await dispatch("process_due_checks", {}, task_queue=queue, client=client)
    result: ProcessDueChecksResult = await job.result()
    run_s = time.perf_counter() - started
    if result.checked != monitors or result.failed:
        raise SystemExit(f"expected {monitors} passing checks, got {result}")
    return {
        "monitors": monitors,
        "checks_per_s": monitors / result.duration_s,
        "checking_s": result.duration_s,
        "run_s": run_s,
        "share_of_interval": run_s / 60,
    }


async def reminders(client: Any, queue: str, count: int, lead_s: float) -> dict[str, float]:
    prefix = f"bench-reminder-{uuid.uuid4().hex[:6]}"
    # Due when every start has surely landed: estimated from a first batch's start rate.
    due_at = datetime.now(UTC) + timedelta(seconds=lead_s + count / 80)
    gate = asyncio.Semaphore(AWAITING)

    async def start(n: int) -> Any:
        async with gate:
            return await client.start_workflow(
                ReminderWorkflow.run,
                ReminderInput(due_at=due_at, subject=f"reminder {n}", webhooks=False),
                id=f"{prefix}-{n}",
                task_queue=queue,
            )

    started = time.perf_counter()
    handles = await asyncio.gather(*(start(n) for n in range(count)))
    start_s = time.perf_counter() - started
    if datetime.now(UTC) >= due_at:
        raise SystemExit("the reminders were due before all had started; raise --lead")

    fired_late: list[float] = []

    async def result(handle: Any) -> None:
        async with gate:
            state = await handle.result()
        if state.status != "fired":
            raise SystemExit(f"{handle.id} ended {state.status}")
        fired_late.append((state.fired_at - state.due_at).total_seconds())

    await asyncio.gather(*(result(h) for h in handles))
    done_after_due = (datetime.now(UTC) - due_at).total_seconds()
    history = await handles[0].fetch_history()
    return {
        "reminders": count,
        "starts_per_s": count / start_s,
        "timers_per_s": count / max(done_after_due, 1e-9),
        "all_fired_after_due_s": done_after_due,
        "median_fire_lag_s": statistics.median(fired_late),
        "history_events_per_reminder": len(history.events),
    }


async def main(args: argparse.Namespace) -> dict[str, Any]:
    configure_logging(fmt="json", level="WARNING")
    report: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="lanes-bench-ops-") as tmp:
        url = f"sqlite+aiosqlite:///{Path(tmp) / 'lanes.db'}"
        os.environ["LANES_DATABASE_URL"] = url
        os.environ["LANES_OPERATIONS_CHECK_CONCURRENCY"] = str(args.concurrency)
        settings.cache_clear()
        operations_settings.cache_clear()
        await migrations.upgrade(url=url)
        runner, base = await target_server(args.latency_ms)
        try:
            async with DevServer(ui_port=None) as server:
                client = await connect(target_host=server.address)
                queue = f"bench-ops-{uuid.uuid4().hex[:6]}"
                async with running_worker(client, "operations", task_queue=queue):
                    report["uptime"] = await uptime(client, queue, base, args.monitors)
                    print(
                        f"uptime    {args.monitors} monitors ({args.latency_ms:g} ms each, "
                        f"{args.concurrency} at once): "
                        f"{report['uptime']['checks_per_s']:,.0f} checks/s; the run took "
                        f"{report['uptime']['run_s']:.1f} s = "
                        f"{report['uptime']['share_of_interval']:.0%} of the 60 s interval"
                    )
                    report["reminders"] = await reminders(client, queue, args.reminders, args.lead)
                    r = report["reminders"]
                    print(
                        f"reminders {args.reminders}: {r['starts_per_s']:,.0f} starts/s, "
                        f"{r['timers_per_s']:,.0f} timers fired/s "
                        f"(all fired {r['all_fired_after_due_s']:.1f} s after due, median lag "
                        f"{r['median_fire_lag_s']:.2f} s), "
                        f"{r['history_events_per_reminder']} history events per reminder"
                    )
        finally:
            await runner.cleanup()
            await dispose_engines()
    return report


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--full", action="store_true", help="10,000 reminders")
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--reminders", type=int)
    parser.add_argument("--latency-ms", type=float, default=20.0, help="the target's answer time")
    parser.add_argument("--concurrency", type=int, default=50, help="checks in flight at once")
    parser.add_argument("--lead", type=float, default=5.0, help="seconds between starts and due")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    if args.reminders is None:
        args.reminders = 10_000 if args.full else 500
    figures = asyncio.run(main(args))
    if args.json:
        args.json.write_text(json.dumps(figures, indent=2))
    # The SDK's runtime has been seen to abort the interpreter at exit; end deliberately.
    exit_process(0)
