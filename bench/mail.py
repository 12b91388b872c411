"""The email domain against the local sink: a campaign's messages/s and history, and the cost of
durable transactional sends against raw ``aiosmtplib`` in a loop.

    uv run python -m bench.mail [--recipients 2000] [--transactional 200] [--batch-size 100]

The issue's size is ``--recipients 100000``; the default is small so the run takes a minute or
two on a loaded machine. Starts its own dev server and one ``email-worker``
subprocess (stopped by PID at the end), a migrated SQLite file, and the dev sink (aiosmtpd, ``.eml``
files in a temporary folder) in this process. Reported:

- campaign: recipients/s from start to result, the largest history of any run (continue-as-new
  every 1,000 recipients: must stay < 10,000 events), the worker's peak RSS;
- transactional: ``send_email`` jobs/s (50 in flight, each a job with its ledger claim, record and
  sends-log row) against the same number of ``aiosmtplib.send`` calls in a plain loop, both to
  the same sink, and the ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import tempfile
import time
import uuid
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import aiosmtplib

from bench._processes import Child, dev_server, python_script, rss_bytes, subprocess_env
from bench._workers import wait_ready
from core import db
from core.db import dispose_engines, migrations
from core.dev.server import free_port
from core.dispatch import dispatch
from core.settings import settings
from core.telemetry import configure_logging
from core.worker import exit_process
from mail.campaigns import create_campaign, start_campaign
from mail.settings import mail_settings
from mail.sink import SinkHandler, SmtpSink

EVENT_BOUND = 10_000


async def largest_history(client: Any, workflow_id: str, run_id: str) -> tuple[int, int]:
    """(largest event count of any run, runs), following continue-as-new from ``run_id``."""
    from temporalio.api.enums.v1 import EventType

    largest, runs, current = 0, 0, run_id
    while current:
        history = await client.get_workflow_handle(workflow_id, run_id=current).fetch_history()
        largest, runs = max(largest, len(history.events)), runs + 1
        last = history.events[-1]
        current = ""
        if last.event_type == EventType.EVENT_TYPE_WORKFLOW_EXECUTION_CONTINUED_AS_NEW:
            current = last.workflow_execution_continued_as_new_event_attributes.new_execution_run_id
    return largest, runs


async def campaign(client: Any, worker_pid: int, recipients: int, batch_size: int) -> None:
    async with db.session() as s:
        created = await create_campaign(
            s,
            name="bench",
            recipients=[f"reader{i:06}@example.com" for i in range(recipients)],
            template="newsletter",
            context={"title": "Bench", "paragraphs": ["Hello."]},
            rate_per_minute=10_000_000,
        )
    peak = rss_bytes(worker_pid)
    started = time.perf_counter()
    handle, _ = await start_campaign(
        created.id, client=client, batch_size=batch_size, continue_as_new_after=1_000
    )
    result_task = asyncio.ensure_future(handle.result())
    while not result_task.done():
        peak = max(peak, rss_bytes(worker_pid))
        await asyncio.wait([result_task], timeout=0.5)
    result = result_task.result()
    elapsed = time.perf_counter() - started
    assert handle.first_execution_run_id is not None
    largest, runs = await largest_history(client, handle.id, handle.first_execution_run_id)
    if result.sent != recipients:
        raise SystemExit(f"expected {recipients} sent, the campaign reports {result.sent}")
    print(
        f"campaign      {recipients:,} recipients in {elapsed:.1f}s: {recipients / elapsed:,.0f} "
        f"messages/s; {runs} runs, largest history {largest:,} events "
        f"({'under' if largest < EVENT_BOUND else 'OVER'} {EVENT_BOUND:,}); "
        f"worker peak RSS {peak / 2**20:,.0f} MiB"
    )


async def transactional(n: int, smtp_url: str) -> None:
    slots = asyncio.Semaphore(50)
    run = uuid.uuid4().hex[:8]

    async def one(i: int) -> None:
        async with slots:
            job = await dispatch(
                "send_email",
                {
                    "to": f"user{i}@example.com",
                    "idempotency_key": f"bench-{run}-{i}",
                    "subject": "Your receipt",
                    "text": "Thank you.",
                },
                task_queue="email",
            )
            await job.result()

    started = time.perf_counter()
    await asyncio.gather(*(one(i) for i in range(n)))
    lanes_rate = n / (time.perf_counter() - started)

    host, port = smtp_url.removeprefix("smtp://").split(":")
    started = time.perf_counter()
    for i in range(n):
        message = EmailMessage()
        message["From"], message["To"] = "bench@lanes.example", f"raw{i}@example.com"
        message["Subject"], message["Message-ID"] = "Your receipt", f"<raw-{run}-{i}@bench>"
        message.set_content("Thank you.")
        await aiosmtplib.send(message, hostname=host, port=int(port), start_tls=False)
    raw_rate = n / (time.perf_counter() - started)
    print(
        f"transactional {n} sends: send_email {lanes_rate:,.1f}/s (50 in flight), raw aiosmtplib "
        f"loop {raw_rate:,.1f}/s; Lanes/raw = {lanes_rate / raw_rate:.2f}"
    )


async def main(recipients: int, sends: int, batch_size: int) -> None:
    configure_logging(fmt="json", level="WARNING")
    with tempfile.TemporaryDirectory(prefix="lanes-bench-mail-") as tmp:
        url = f"sqlite+aiosqlite:///{tmp}/lanes.db"
        os.environ["LANES_DATABASE_URL"] = url
        settings.cache_clear()
        await migrations.upgrade(url=url)
        async with (
            SmtpSink(SinkHandler(Path(tmp) / "mail")) as sink,
            dev_server() as server,
        ):
            env = {
                "LANES_DATABASE_URL": url,
                "LANES_SMTP_URL": sink.url,
                "LANES_MAIL_DIR": f"{tmp}/mail",
                "LANES_MAIL_FROM": "Bench <bench@lanes.example>",
                "LANES_SYNC_SCHEDULES": "false",
            }
            os.environ.update(env, TEMPORAL_ADDRESS=server.address)
            mail_settings.cache_clear()
            from core.client import connect

            client = await connect(target_host=server.address)
            port = free_port()
            worker = Child(
                "email-worker",
                [python_script("email-worker")],
                subprocess_env(
                    server.address,
                    LANES_HEALTH_PORT=str(port),
                    LANES_HEALTH_HOST="127.0.0.1",
                    **env,
                ),
            )
            try:
                await wait_ready(worker, str(port))
                await campaign(client, worker.pid, recipients, batch_size)
                if sends:
                    await transactional(sends, sink.url)
            finally:
                worker.stop()
        await dispose_engines()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--recipients", type=int, default=2_000, help="issue size: 100000")
    parser.add_argument("--transactional", type=int, default=200)
    parser.add_argument("--batch-size", type=int, default=100)
    args = parser.parse_args()
    asyncio.run(main(args.recipients, args.transactional, args.batch_size))
    # The SDK's runtime has been seen to abort the interpreter at exit; end deliberately.
    exit_process(0)
