"""Onboarding: waits for approval, escalates on timeout and keeps waiting, resumes on approval,
runs its last steps in parallel — and the ``progress`` query is right at every stage."""

from __future__ import annotations

import asyncio
import uuid
from datetime import timedelta
from typing import Any

from operations_test_support import NOTIFIED, notify_standin, wait_until
from sqlalchemy import select
from temporalio import activity
from temporalio.client import Client, WorkflowHandle

from core import db
from core.dev.testing import running_worker
from operations.models import OnboardingStep
from operations.workflows import OnboardingWorkflow
from operations.workflows.onboarding import ApprovalInput, OnboardingInput, OnboardingProgress


async def start(
    client: Client, queue: str, *, timeout: float = 60, max_escalations: int = 3
) -> WorkflowHandle[Any, OnboardingProgress]:
    return await client.start_workflow(
        OnboardingWorkflow.run,
        OnboardingInput(
            email="ada@example.com",
            name="Ada",
            approvers=["lead@example.com"],
            escalate_to=["manager@example.com"],
            approval_timeout=timedelta(seconds=timeout),
            max_escalations=max_escalations,
        ),
        id=f"onboarding-{uuid.uuid4().hex[:8]}",
        task_queue=queue,
    )


def stage_is(handle: WorkflowHandle[Any, Any], stage: str, escalations: int = 0) -> Any:
    async def check() -> OnboardingProgress | None:
        progress: OnboardingProgress = await handle.query(OnboardingWorkflow.progress)
        ok = progress.stage == stage and progress.escalations == escalations
        return progress if ok else None

    return check


async def test_it_waits_escalates_keeps_waiting_and_resumes_on_approval(
    temporal_client: Client, task_queue: str, lanes_database: str
) -> None:
    NOTIFIED.clear()
    async with running_worker(
        temporal_client, "operations", task_queue=task_queue, activities=[notify_standin]
    ):
        handle = await start(temporal_client, task_queue, timeout=1.5)
        waiting = await wait_until(stage_is(handle, "awaiting_approval"), what="the approval wait")
        assert waiting.completed_steps == ["create_account"]
        assert waiting.waiting_since is not None
        escalated = await wait_until(
            stage_is(handle, "awaiting_approval", escalations=1), what="the first escalation"
        )
        assert escalated.completed_steps == ["create_account"]  # still waiting after it
        await handle.signal(OnboardingWorkflow.approve, ApprovalInput(by="lead@example.com"))
        done = await handle.result()
    assert done.stage == "completed"
    assert done.decided_by == "lead@example.com"
    assert done.escalations in (1, 2)  # a second one may fall between query and signal
    assert done.completed_steps[0] == "create_account"
    assert set(done.completed_steps[1:3]) == {"grant_access", "send_welcome"}
    assert done.completed_steps[3] == "complete"
    sent = [(n["event_type"], n["emails"]) for n in NOTIFIED]
    assert sent[0] == ("onboarding.approval_requested", ["lead@example.com"])
    assert sent[1] == ("onboarding.escalated", ["lead@example.com", "manager@example.com"])
    assert sent[-1] == ("onboarding.welcome", ["ada@example.com"])
    assert len({n["key"] for n in NOTIFIED}) == len(NOTIFIED)
    async with db.session() as s:
        steps = (
            await s.execute(
                select(OnboardingStep.step).where(OnboardingStep.onboarding_id == handle.id)
            )
        ).scalars()
        assert set(steps) == {"create_account", "grant_access", "send_welcome", "complete"}


GATES: dict[str, asyncio.Event] = {}
STEPS: list[str] = []


@activity.defn(name="complete_onboarding_step")
async def gated_step(input: Any) -> str:
    """Stands in for the step activity and holds a step until the test opens its gate."""
    gate = GATES.get(input["step"])
    if gate is not None:
        await gate.wait()
    STEPS.append(input["step"])
    return "2026-01-01T00:00:00+00:00"


async def test_the_query_shows_every_stage(temporal_client: Client, task_queue: str) -> None:
    NOTIFIED.clear()
    STEPS.clear()
    GATES.clear()
    GATES.update(create_account=asyncio.Event(), grant_access=asyncio.Event())
    async with running_worker(
        temporal_client,
        "operations",
        task_queue=task_queue,
        activities=[notify_standin, gated_step],
    ):
        handle = await start(temporal_client, task_queue)
        first = await wait_until(stage_is(handle, "creating_account"), what="the account step")
        assert first.completed_steps == []
        GATES["create_account"].set()
        await wait_until(stage_is(handle, "awaiting_approval"), what="the approval wait")
        await handle.signal(OnboardingWorkflow.approve, ApprovalInput(by="lead@example.com"))
        # The welcome (parallel branch) finishes while access is still being granted.
        provisioning = await wait_until(
            _with_step(handle, "send_welcome"), what="the welcome while access is granted"
        )
        assert provisioning.stage == "provisioning"
        assert "grant_access" not in provisioning.completed_steps
        GATES["grant_access"].set()
        done = await handle.result()
    assert done.stage == "completed"
    assert STEPS == ["create_account", "send_welcome", "grant_access", "complete"]


def _with_step(handle: WorkflowHandle[Any, Any], step: str) -> Any:
    async def check() -> OnboardingProgress | None:
        progress: OnboardingProgress = await handle.query(OnboardingWorkflow.progress)
        return progress if step in progress.completed_steps else None

    return check


async def test_unanswered_it_escalates_up_to_the_limit_then_expires(
    temporal_client: Client, task_queue: str, lanes_database: str
) -> None:
    NOTIFIED.clear()
    async with running_worker(
        temporal_client, "operations", task_queue=task_queue, activities=[notify_standin]
    ):
        handle = await start(temporal_client, task_queue, timeout=0.5, max_escalations=2)
        done = await handle.result()
    assert (done.stage, done.escalations, done.decided_by) == ("expired", 2, None)
    assert [n["event_type"] for n in NOTIFIED] == [
        "onboarding.approval_requested",
        "onboarding.escalated",
        "onboarding.escalated",
    ]


async def test_a_rejection_ends_it_without_provisioning(
    temporal_client: Client, task_queue: str, lanes_database: str
) -> None:
    NOTIFIED.clear()
    async with running_worker(
        temporal_client, "operations", task_queue=task_queue, activities=[notify_standin]
    ):
        handle = await start(temporal_client, task_queue)
        await wait_until(stage_is(handle, "awaiting_approval"), what="the approval wait")
        await handle.signal(
            OnboardingWorkflow.approve, ApprovalInput(by="lead@example.com", approved=False)
        )
        done = await handle.result()
    assert (done.stage, done.completed_steps) == ("rejected", ["create_account"])
