"""CampaignWorkflow: send a campaign in throttled batches, steerable while it runs.

Each batch is one ``send_campaign_batch`` activity (up to ``batch_size`` recipients, at most a
minute's worth at the current rate); after it the workflow waits until the batch's share of the
rate has passed (``processed * 60 / rate`` seconds from the batch's start). The sending domain's
warming limit is enforced by the activity, which reserves each batch against it; when today's
limit is used up the workflow waits ``quota_recheck`` and asks again.

Steering:

- signals ``pause`` / ``resume`` / ``cancel`` — take effect between batches (a batch in flight
  finishes); a cancelled campaign keeps its unsent recipients ``pending``;
- update ``set_rate`` — the new messages-per-minute rate, validated, used from the next pause on;
- query ``progress`` — sent, skipped, failed, remaining, state, rate, runs.

History stays bounded: after ``continue_as_new_after`` recipients in one run the workflow
continues as new, carrying its progress and pause state. A batch writes fewer than a dozen
events, so a run stays far below 10,000 events (with the defaults, ~20 batches of 50 per run).
"""

from __future__ import annotations

import contextlib
from datetime import timedelta
from typing import Literal

import pydantic
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core import durable
    from core.activities import ActivityOptions
    from mail.activities.campaigns import (
        CampaignBatchInput,
        CampaignBatchResult,
        CampaignCounts,
        CampaignRef,
        CloseCampaignInput,
        close_campaign,
        open_campaign,
        send_campaign_batch,
    )

__all__ = ["CampaignInput", "CampaignProgress", "CampaignWorkflow", "RateUpdate"]

State = Literal["starting", "running", "paused", "waiting_for_quota", "completed", "cancelled"]


class CampaignProgress(pydantic.BaseModel):
    """What the ``progress`` query answers (and the workflow returns)."""

    campaign_id: int
    total: int = 0
    sent: int = 0
    skipped: int = 0
    failed: int = 0
    remaining: int = 0
    rate_per_minute: int = 60
    state: State = "running"
    runs: int = 1
    """Workflow runs so far (continue-as-new)."""
    batches: int = 0


class CampaignInput(pydantic.BaseModel):
    campaign_id: int
    batch_size: int = pydantic.Field(default=50, ge=1, le=1000)
    """Recipients per batch activity. Default: 50."""
    continue_as_new_after: int = pydantic.Field(default=1000, ge=1, le=5000)
    """Recipients per workflow run before continuing as new. Default: 1,000."""
    quota_recheck: timedelta = timedelta(minutes=5)
    """How long to wait before asking again when the warming limit is used up. Default: 5 min."""
    rate_per_minute: int | None = pydantic.Field(default=None, ge=1)
    """Override of the campaign's rate. Default: the campaign's own."""
    batch_options: ActivityOptions | None = None
    """Overrides of the batch activity's config (heartbeat timeout, retry policy)."""
    progress: CampaignProgress | None = None
    """Carried over by continue-as-new."""
    paused: bool = False
    """Carried over by continue-as-new."""


class RateUpdate(pydantic.BaseModel):
    rate_per_minute: int = pydantic.Field(ge=1, le=1_000_000)


@workflow.defn
class CampaignWorkflow:
    def __init__(self) -> None:
        self._progress: CampaignProgress | None = None
        self._paused = False
        self._cancelled = False
        self._woken = False

    @workflow.run
    async def run(self, input: CampaignInput) -> CampaignProgress:
        self._paused = input.paused
        self._progress = CampaignProgress(campaign_id=input.campaign_id, state="starting")
        progress = input.progress or await self._start_campaign(input)
        self._progress = progress
        done_this_run = 0
        while True:
            progress.state = "paused" if self._paused else "running"
            await workflow.wait_condition(lambda: not self._paused or self._cancelled)
            if self._cancelled:
                break
            progress.state = "running"
            if done_this_run >= input.continue_as_new_after:
                await workflow.wait_condition(workflow.all_handlers_finished)
                workflow.continue_as_new(
                    input.model_copy(
                        update={
                            "progress": progress.model_copy(update={"runs": progress.runs + 1}),
                            "paused": self._paused,
                        }
                    )
                )
            started = workflow.now()
            size = min(input.batch_size, progress.rate_per_minute)
            batch: CampaignBatchResult = await durable.run_activity(
                send_campaign_batch,
                CampaignBatchInput(campaign_id=input.campaign_id, limit=size),
                options=input.batch_options,
            )
            progress.batches += 1
            progress.sent += batch.sent
            progress.skipped += batch.skipped
            progress.failed += batch.failed
            progress.remaining = batch.remaining
            done_this_run += batch.processed
            if batch.remaining == 0:
                progress.state = "completed"
                break
            if batch.quota_exhausted:
                progress.state = "waiting_for_quota"
                await self._sleep(input.quota_recheck)
                continue
            share = timedelta(seconds=batch.processed * 60 / progress.rate_per_minute)
            await self._sleep(share - (workflow.now() - started))
        if self._cancelled:
            progress.state = "cancelled"
        final: CampaignCounts | None = await durable.run_activity(
            close_campaign,
            CloseCampaignInput(campaign_id=input.campaign_id, status=progress.state),
        )
        if final is not None:  # the rows' counts: exact where a lost batch result was not
            progress.sent, progress.skipped = final.sent, final.skipped
            progress.failed, progress.remaining = final.failed, final.remaining
        await workflow.wait_condition(workflow.all_handlers_finished)
        return progress

    async def _start_campaign(self, input: CampaignInput) -> CampaignProgress:
        counts: CampaignCounts = await durable.run_activity(
            open_campaign, CampaignRef(campaign_id=input.campaign_id)
        )
        return CampaignProgress(
            campaign_id=input.campaign_id,
            total=counts.total,
            sent=counts.sent,
            skipped=counts.skipped,
            failed=counts.failed,
            remaining=counts.remaining,
            rate_per_minute=input.rate_per_minute or counts.rate_per_minute,
        )

    async def _sleep(self, duration: timedelta) -> None:
        """Wait ``duration``, or less when cancelled or the rate changes."""
        if duration <= timedelta(0):
            return
        self._woken = False
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(lambda: self._cancelled or self._woken, timeout=duration)

    @workflow.signal
    def pause(self) -> None:
        self._paused = True
        if self._progress is not None and self._progress.state == "running":
            self._progress.state = "paused"

    @workflow.signal
    def resume(self) -> None:
        self._paused = False

    @workflow.signal
    def cancel(self) -> None:
        self._cancelled = True

    @workflow.update
    def set_rate(self, update: RateUpdate) -> CampaignProgress:
        assert self._progress is not None
        self._progress.rate_per_minute = update.rate_per_minute
        self._woken = True
        return self._progress.model_copy()

    @set_rate.validator
    def _check_rate(self, update: RateUpdate) -> None:
        if self._progress is None or self._progress.state == "starting":
            raise ValueError("the campaign has not opened yet; try again in a moment")

    @workflow.query
    def progress(self) -> CampaignProgress:
        if self._progress is None:
            raise RuntimeError("the campaign's workflow has not run yet")
        return self._progress
