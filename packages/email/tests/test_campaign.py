"""Campaigns: throttled batches steered by signals and an update, as the progress query says."""

from __future__ import annotations

import asyncio
from collections import Counter

import pytest
from mail_test_smtp import RecordingHandler
from mail_test_support import new_campaign, recipient_statuses, wait_until
from temporalio.client import Client

from core import db
from core.dev.testing import replay, running_worker
from mail import store
from mail.campaigns import campaign_handle, start_campaign
from mail.models import Campaign, SendingDomain
from mail.sink import SmtpSink
from mail.workflows.campaign import CampaignProgress, CampaignWorkflow, RateUpdate

pytestmark = pytest.mark.usefixtures("lanes_database", "mail_env")

FAST_BATCHES = {"retry_policy": {"name": "mail_campaign", "initial_interval": 0.2}}


async def _status(campaign_id: int) -> str:
    async with db.session() as s:
        campaign = await s.get(Campaign, campaign_id)
        assert campaign is not None
        return campaign.status


async def test_pause_rate_change_resume_and_cancel_behave_as_the_progress_query_says(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    sink = smtp_sink[1]
    addresses = [f"r{i:02}@example.com" for i in range(40)]
    campaign_id = await new_campaign(addresses, rate=60)  # batches of 2: one every 2 s
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        handle, started = await start_campaign(
            campaign_id, client=temporal_client, task_queue=task_queue, batch_size=2
        )
        assert started

        async def progress() -> CampaignProgress:
            return await handle.query(CampaignWorkflow.progress)

        await wait_until(lambda: _sent_at_least(progress, 2), 30, "the first batch")
        await handle.signal(CampaignWorkflow.pause)

        async def settled() -> CampaignProgress | None:
            p = await progress()
            statuses = Counter((await recipient_statuses(campaign_id)).values())
            return p if p.state == "paused" and statuses["sent"] == p.sent else None

        paused = await wait_until(settled, 30, "the pause to settle")
        # At 60/min a batch of 2 is due every 2 s: 3 s paused would have seen one or two.
        await asyncio.sleep(3)
        still = await progress()
        assert (still.state, still.sent, still.batches) == ("paused", paused.sent, paused.batches)
        assert len(sink.received) == paused.sent

        changed = await handle.execute_update(
            CampaignWorkflow.set_rate, RateUpdate(rate_per_minute=6000)
        )
        assert changed.rate_per_minute == 6000 and changed.sent == paused.sent
        await handle.signal(CampaignWorkflow.resume)
        await wait_until(lambda: _sent_at_least(progress, paused.sent + 10), 30, "faster sending")
        await handle.signal(CampaignWorkflow.cancel)
        result = await handle.result()
        history = await handle.fetch_history()
    # Signals, the update and the timers replay deterministically against today's code.
    await replay([history], [CampaignWorkflow])

    assert result.state == "cancelled" and result.rate_per_minute == 6000
    assert result.remaining > 0 and result.sent + result.remaining == 40
    statuses = Counter((await recipient_statuses(campaign_id)).values())
    assert statuses == {"sent": result.sent, "pending": result.remaining}
    assert len(sink.received) == result.sent == len({r.to for r in sink.received})
    assert await _status(campaign_id) == "cancelled"


async def _sent_at_least(progress: object, n: int) -> bool:
    p = await progress()  # type: ignore[operator]
    return bool(p.sent >= n)


async def test_a_campaign_skips_suppressed_records_refusals_and_retries_deferrals(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    sink = smtp_sink[1]
    sink.refuse_rcpt["ghost@example.com"] = "550 5.1.1 no such user"
    sink.refuse_data["greylisted@example.com"].append("451 4.7.1 Greylisted, try again")
    async with db.session() as s:
        await store.suppress(s, "left@example.com", "unsubscribed")
    addresses = ["a@example.com", "ghost@example.com", "greylisted@example.com"]
    addresses += ["left@example.com", "b@example.com"]
    campaign_id = await new_campaign(addresses)
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        handle, _ = await start_campaign(
            campaign_id, client=temporal_client, task_queue=task_queue, batch_size=2
        )
        result = await handle.result()
    assert (result.state, result.sent, result.skipped, result.failed, result.remaining) == (
        "completed",
        3,
        1,
        1,
        0,
    )
    assert sorted(r.to for r in sink.received) == [
        "a@example.com",
        "b@example.com",
        "greylisted@example.com",
    ]
    assert await recipient_statuses(campaign_id) == {
        "a@example.com": "sent",
        "b@example.com": "sent",
        "ghost@example.com": "failed",
        "greylisted@example.com": "sent",
        "left@example.com": "skipped",
    }
    async with db.session() as s:
        assert await store.is_suppressed(s, "ghost@example.com") is not None
    assert await _status(campaign_id) == "completed"


async def test_a_campaign_never_exceeds_its_domains_warming_limit(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    from mail.activities.warming import raise_warming_limits

    sink = smtp_sink[1]
    async with db.session() as s:
        row = await store.start_warming(s, "lanes.example")
        row.daily_limit = 3  # a small first step, so the test stays small
    campaign_id = await new_campaign([f"w{i}@example.com" for i in range(5)])
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        handle, _ = await start_campaign(
            campaign_id,
            client=temporal_client,
            task_queue=task_queue,
            batch_size=2,
            quota_recheck=0.3,
        )

        async def waiting() -> CampaignProgress | None:
            p = await handle.query(CampaignWorkflow.progress)
            return p if p.state == "waiting_for_quota" else None

        waited = await wait_until(waiting, 30, "the limit to be reached")
        assert (waited.sent, waited.remaining) == (3, 2)
        assert len(sink.received) == 3
        # The daily schedule's activity, as if a day had passed since the domain was raised.
        async with db.session() as s:
            domain = await s.get(SendingDomain, "lanes.example")
            assert domain is not None and domain.sent_today == 3
            domain.raised_on = "2000-01-01"
        raised = await raise_warming_limits()
        assert raised.raised == {"lanes.example": 100}
        result = await handle.result()
    assert (result.state, result.sent) == ("completed", 5)
    assert len(sink.received) == 5


async def test_a_campaign_handle_finds_the_running_workflow(
    temporal_client: Client, task_queue: str, smtp_sink: tuple[SmtpSink, RecordingHandler]
) -> None:
    campaign_id = await new_campaign(["solo@example.com"])
    async with running_worker(temporal_client, "email", task_queue=task_queue):
        first, started = await start_campaign(
            campaign_id, client=temporal_client, task_queue=task_queue
        )
        again, started_again = await start_campaign(
            campaign_id, client=temporal_client, task_queue=task_queue
        )
        assert (started, started_again) == (True, False)
        handle = await campaign_handle(campaign_id, client=temporal_client)
        result = await handle.result()
    assert first.id == again.id == handle.id
    assert result.sent == 1 and len(smtp_sink[1].received) == 1
