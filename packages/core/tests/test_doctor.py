"""`lanes doctor` on the real dev server: a queue nobody polls and a schedule whose runs fail."""

import asyncio
import json
import subprocess
import sys
import uuid
from datetime import timedelta
from pathlib import Path

from temporalio import workflow
from temporalio.api.enums.v1 import WorkflowExecutionStatus
from temporalio.api.workflowservice.v1 import DescribeScheduleRequest
from temporalio.client import (
    Client,
    Schedule,
    ScheduleActionStartWorkflow,
    ScheduleIntervalSpec,
    ScheduleSpec,
)
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from core import activities
from core.dev.testing import running_worker

LANES = str(Path(sys.executable).with_name("lanes"))


@activities.defn(queue="doctor-test", start_to_close=timedelta(seconds=10))
async def doctor_always_fails() -> None:
    raise ApplicationError("the report generator is broken", non_retryable=True)


@workflow.defn(sandboxed=False)
class DoctorBuggyWorkflow:
    @workflow.run
    async def run(self) -> None:
        raise RuntimeError("a bug: fails every workflow task until fixed code is deployed")


@activities.defn(queue="doctor-test", start_to_close=timedelta(seconds=10))
async def doctor_flaky_job() -> None:
    raise RuntimeError("the partner API answers 503")


async def doctor(*args: str, env: dict[str, str]) -> tuple[int, list[dict[str, str]], str]:
    proc = await asyncio.create_subprocess_exec(
        LANES, "doctor", "--json", *args, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, json.loads(out), err.decode()


async def test_doctor_names_a_queue_without_pollers_and_a_failing_schedule(
    temporal_client: Client, task_queue: str, lanes_env: dict[str, str]
) -> None:
    schedule_id = f"doctor-{uuid.uuid4().hex[:8]}"
    idle_queue = f"{task_queue}-idle"
    async with running_worker(
        temporal_client, task_queue=task_queue, activities=[doctor_always_fails]
    ):
        handle = await temporal_client.create_schedule(
            schedule_id,
            Schedule(
                action=ScheduleActionStartWorkflow(
                    "SingleActivityWorkflow",
                    {"activity": "doctor_always_fails"},
                    id=f"{schedule_id}-run",
                    task_queue=task_queue,
                ),
                spec=ScheduleSpec(intervals=[ScheduleIntervalSpec(every=timedelta(hours=1))]),
            ),
        )
        try:
            await handle.trigger()
            await _until_a_run_failed(temporal_client, schedule_id)
            code, verdicts, err = await doctor(
                "--queue", task_queue, "--queue", idle_queue, env=lanes_env
            )
        finally:
            await handle.delete()

    assert code == 1, err
    by_check = {v["check"]: v for v in verdicts}
    assert by_check["server"]["status"] == "ok" and "Temporal 1." in by_check["server"]["detail"]
    assert by_check["namespace"]["status"] == "ok"
    assert by_check[f"queue {task_queue}"]["status"] == "ok"
    assert "1 workflow / 1 activity pollers" in by_check[f"queue {task_queue}"]["detail"]
    idle = by_check[f"queue {idle_queue}"]
    assert idle["status"] == "fail" and idle["detail"].startswith("no worker polls it")
    failing = by_check[f"schedule {schedule_id}"]
    assert failing["status"] == "fail"
    assert "1 of its last 1 runs failed" in failing["detail"]
    assert by_check["database"]["status"] == "ok"


async def test_doctor_text_output_is_one_verdict_line_per_check(
    lanes_env: dict[str, str], task_queue: str
) -> None:
    idle = f"{task_queue}-idle"
    proc = await asyncio.create_subprocess_exec(
        LANES, "doctor", "--queue", idle, env=lanes_env, stdout=subprocess.PIPE
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 120)
    lines = out.decode().splitlines()
    assert lines[0].startswith("OK    server")
    assert all(line[:6] in ("OK    ", "WARN  ", "FAIL  ", "SKIP  ") for line in lines), lines
    assert any(line.startswith(f"FAIL  queue {idle}") for line in lines), lines
    assert proc.returncode == 1


async def _until_a_run_failed(client: Client, schedule_id: str) -> None:
    for _ in range(150):
        response = await client.workflow_service.describe_schedule(
            DescribeScheduleRequest(namespace=client.namespace, schedule_id=schedule_id)
        )
        statuses = [a.start_workflow_status for a in response.info.recent_actions]
        if WorkflowExecutionStatus.WORKFLOW_EXECUTION_STATUS_FAILED in statuses:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"the server never recorded a failed run of {schedule_id}")


async def test_doctor_names_a_workflow_whose_workflow_task_keeps_failing(
    temporal_client: Client, task_queue: str, lanes_env: dict[str, str]
) -> None:
    workflow_id = f"doctor-buggy-{uuid.uuid4().hex[:8]}"
    async with running_worker(
        temporal_client, task_queue=task_queue, workflows=[DoctorBuggyWorkflow]
    ):
        handle = await temporal_client.start_workflow(
            DoctorBuggyWorkflow.run, id=workflow_id, task_queue=task_queue
        )
        try:
            for _ in range(150):
                described = await handle.describe()
                if described.raw_description.pending_workflow_task.attempt >= 2:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the workflow task was never retried")
            code, verdicts, err = await doctor("--queue", task_queue, env=lanes_env)
        finally:
            await handle.terminate("test over")
    assert code == 1, err
    stuck = next(v for v in verdicts if v["check"] == "workflows")
    assert stuck["status"] == "fail"
    assert (
        f"{workflow_id} (DoctorBuggyWorkflow): workflow task failing, attempt " in stuck["detail"]
    )


async def test_doctor_names_a_job_on_its_third_attempt(
    temporal_client: Client, task_queue: str, lanes_env: dict[str, str]
) -> None:
    job_id = f"doctor-job-{uuid.uuid4().hex[:8]}"
    async with running_worker(
        temporal_client, task_queue=task_queue, activities=[doctor_flaky_job]
    ):
        handle = await temporal_client.start_activity(
            doctor_flaky_job,
            id=job_id,
            task_queue=task_queue,
            start_to_close_timeout=timedelta(seconds=10),
            retry_policy=RetryPolicy(
                initial_interval=timedelta(milliseconds=100), backoff_coefficient=1
            ),
        )
        try:
            for _ in range(150):
                if (await handle.describe()).attempt >= 3:
                    break
                await asyncio.sleep(0.2)
            else:
                raise AssertionError("the job never reached its third attempt")
            code, verdicts, err = await doctor("--queue", task_queue, env=lanes_env)
        finally:
            await handle.terminate(reason="test over")
    assert code == 1, err
    jobs = next(v for v in verdicts if v["check"] == "jobs")
    assert jobs["status"] == "fail"
    assert f"{job_id} (doctor_flaky_job on {task_queue}) at attempt " in jobs["detail"]
    assert "the partner API answers 503" in jobs["detail"]
