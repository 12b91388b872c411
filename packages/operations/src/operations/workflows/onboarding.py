"""OnboardingWorkflow: bring a new person in, with a human approval in the middle.

Stages, each visible through the ``progress`` query:

1. ``creating_account`` — the account step (an activity) is recorded;
2. ``awaiting_approval`` — approvers are notified and the workflow waits for the ``approve`` (or
   ``reject``) signal. Each ``approval_timeout`` without an answer **escalates**: a notification
   to the approvers and ``escalate_to``, keyed by the escalation's number, and the wait goes on.
   After ``max_escalations`` unanswered escalations the onboarding ends ``expired``;
3. ``provisioning`` — access is granted and the welcome is sent **in parallel**;
4. ``completed`` (or ``rejected`` / ``expired``).

Notifications go through ``notify`` (emails and webhooks by dispatch); every one is keyed by this
workflow's id and the step, so a retry or replay sends it once.
"""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pydantic
from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core import durable
    from operations.activities.notify import NotifyInput, notify
    from operations.activities.onboarding import CompleteStepInput, complete_onboarding_step

__all__ = ["ApprovalInput", "OnboardingInput", "OnboardingProgress", "OnboardingWorkflow"]


class OnboardingInput(pydantic.BaseModel):
    email: str
    name: str
    approvers: list[str] = pydantic.Field(min_length=1)
    """Who approves (emailed the request and every escalation)."""
    escalate_to: list[str] = pydantic.Field(default_factory=list)
    """Also told about escalations (a manager). Default: nobody else."""
    approval_timeout: timedelta = timedelta(days=1)
    """Wait this long for an answer before each escalation. Default: one day."""
    max_escalations: int = pydantic.Field(default=3, ge=0, le=100)
    """Unanswered escalations before the onboarding expires. Default: 3."""


class ApprovalInput(pydantic.BaseModel):
    by: str
    approved: bool = True
    reason: str = ""


class OnboardingProgress(pydantic.BaseModel):
    stage: str
    """``creating_account``, ``awaiting_approval``, ``provisioning``, ``completed``,
    ``rejected`` or ``expired``."""
    completed_steps: list[str] = pydantic.Field(default_factory=list)
    escalations: int = 0
    decided_by: str | None = None
    waiting_since: datetime | None = None
    """When the approval was first requested."""


@workflow.defn
class OnboardingWorkflow:
    @workflow.init
    def __init__(self, input: OnboardingInput) -> None:
        self._progress = OnboardingProgress(stage="creating_account")
        self._decision: ApprovalInput | None = None

    @workflow.run
    async def run(self, input: OnboardingInput) -> OnboardingProgress:
        progress = self._progress
        await self._step("create_account", {"email": input.email, "name": input.name})

        progress.stage, progress.waiting_since = "awaiting_approval", workflow.now()
        await self._notify(
            "approval-requested",
            "onboarding.approval_requested",
            input.approvers,
            f"Approve the onboarding of {input.name}",
            f"{input.name} <{input.email}> waits for your approval "
            f"(workflow {workflow.info().workflow_id}).",
        )
        while self._decision is None:
            try:
                await workflow.wait_condition(
                    lambda: self._decision is not None, timeout=input.approval_timeout
                )
            except TimeoutError:
                if progress.escalations >= input.max_escalations:
                    progress.stage = "expired"
                    workflow.logger.info("onboarding expired without an approval")
                    return progress
                progress.escalations += 1
                await self._notify(
                    f"escalation-{progress.escalations}",
                    "onboarding.escalated",
                    [*input.approvers, *input.escalate_to],
                    f"Still waiting: approve the onboarding of {input.name}",
                    f"Nobody has approved {input.name} <{input.email}> since "
                    f"{progress.waiting_since}; escalation {progress.escalations} of "
                    f"{input.max_escalations}.",
                )
        progress.decided_by = self._decision.by
        if not self._decision.approved:
            progress.stage = "rejected"
            return progress

        progress.stage = "provisioning"
        await asyncio.gather(
            self._step("grant_access", {"approved_by": self._decision.by}),
            self._welcome(input),
        )
        await self._step("complete", {})
        progress.stage = "completed"
        return progress

    async def _welcome(self, input: OnboardingInput) -> None:
        await self._notify(
            "welcome",
            "onboarding.welcome",
            [input.email],
            f"Welcome, {input.name}",
            f"Welcome aboard, {input.name}: your access is being set up.",
        )
        await self._step("send_welcome", {"to": input.email})

    async def _step(self, step: str, detail: dict[str, str]) -> None:
        await durable.run_activity(
            complete_onboarding_step,
            CompleteStepInput(onboarding_id=workflow.info().workflow_id, step=step, detail=detail),
        )
        self._progress.completed_steps.append(step)

    async def _notify(
        self, what: str, event_type: str, emails: list[str], subject: str, text: str
    ) -> None:
        info = workflow.info()
        await durable.run_activity(
            notify,
            NotifyInput(
                key=f"onboarding-{info.workflow_id}-{info.first_execution_run_id}-{what}",
                event_type=event_type,
                subject=subject,
                text=text,
                emails=emails,
                data={"onboarding": info.workflow_id, "step": what},
            ),
        )

    @workflow.signal
    def approve(self, input: ApprovalInput) -> None:
        """The person's answer (``approved=False`` rejects); the first answer counts."""
        if self._decision is None:
            self._decision = input

    @workflow.query
    def progress(self) -> OnboardingProgress:
        """Where the onboarding is."""
        return self._progress
