"""One job, followed across processes: the test process dispatches, a real ``sync-worker``
subprocess runs the job (a standalone activity), and we look at what an operator would see: the
trace (exported over OTLP/HTTP to a loopback receiver and as JSON lines on stdout), the worker's
log lines, and its ``/metrics``."""

from __future__ import annotations

import asyncio
import json
import os
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import Tracer
from prometheus_client import REGISTRY
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor

from core.client import connect
from core.dev.server import DevServer
from core.dispatch import Dispatched, JobFailedError, dispatch

SUPPORT = Path(__file__).parent / "telemetry_support"
sys.path.insert(0, str(SUPPORT))
from telemetry_loopback import LoopbackServer, ReceivedSpan  # noqa: E402
from telemetry_worker_process import WorkerProcess, sync_worker, wait_for  # noqa: E402

SECRET = "sk-live-5f3c9a1b7e42"
EMAIL = "jane.doe@example.com"
MASKED_EMAIL = "j***@example.com"


@pytest.fixture(scope="module")
def target() -> Iterator[LoopbackServer]:
    """The HTTP service the probe activity calls."""
    server = LoopbackServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def collector() -> Iterator[LoopbackServer]:
    """An OTLP/HTTP receiver standing in for the OpenTelemetry collector."""
    server = LoopbackServer()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def worker(
    temporal_server: DevServer,
    collector: LoopbackServer,
    tmp_path_factory: pytest.TempPathFactory,
    worker_database_url: str,
) -> Iterator[WorkerProcess]:
    """The worker under test, exporting spans over OTLP and as JSON lines on stdout."""
    with sync_worker(
        temporal_server.address,
        tmp_path_factory.mktemp("worker"),
        LANES_DATABASE_URL=worker_database_url,
        OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
        OTEL_TRACES_EXPORTER="otlp,console",
        OTEL_BSP_SCHEDULE_DELAY="100",
    ) as process:
        yield process


@pytest.fixture(scope="module")
def caller_spans() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@dataclass
class Caller:
    """The dispatching service: its Temporal client and its tracer."""

    client: Client
    tracer: Tracer


@pytest_asyncio.fixture(scope="module", loop_scope="session")
async def caller(temporal_server: DevServer, caller_spans: InMemorySpanExporter) -> Caller:
    """A Lanes client whose tracer records to memory.

    The tracer is passed explicitly instead of installing a global provider in the test process.
    """
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(caller_spans))
    tracer = provider.get_tracer("caller")
    client = await connect(
        target_host=temporal_server.address, interceptors=[TracingInterceptor(tracer)]
    )
    return Caller(client, tracer)


async def run_probe(caller: Caller, activity: str, target: LoopbackServer) -> Dispatched:
    payload = {"url": f"{target.url}/resource", "api_key": SECRET, "email": EMAIL}
    # The caller's own request span: the job must become part of this trace.
    with caller.tracer.start_as_current_span("POST /caller-endpoint"):
        job = await dispatch(activity, payload, task_queue="sync", client=caller.client)
    assert await job.result() == 200
    return job


def spans_of_trace(collector: LoopbackServer, trace_id: str, count: int) -> list[ReceivedSpan]:
    return wait_for(  # type: ignore[no-any-return]
        lambda: (
            (s := [x for x in collector.spans if x.trace_id == trace_id]) and len(s) >= count and s
        ),
        10,
        lambda: (
            f"spans of {trace_id}: {[s.name for s in collector.spans if s.trace_id == trace_id]}"
        ),
    )


def _one(spans: list[ReceivedSpan], name: str) -> ReceivedSpan:
    matching = [s for s in spans if s.name == name]
    assert len(matching) == 1, f"{name}: {[s.name for s in spans]}"
    return matching[0]


async def test_dispatch_activity_and_http_call_share_one_trace(
    caller: Caller,
    caller_spans: InMemorySpanExporter,
    worker: WorkerProcess,
    target: LoopbackServer,
    collector: LoopbackServer,
) -> None:
    job = await run_probe(caller, "telemetry_probe.fetch", target)

    mine = [
        s
        for s in caller_spans.get_finished_spans()
        if s.attributes and s.attributes.get("temporalActivityID") == job.id
    ]
    assert [s.name for s in mine] == ["StartActivity:telemetry_probe.fetch"]
    start = mine[0]
    root = next(
        s
        for s in caller_spans.get_finished_spans()
        if s.name == "POST /caller-endpoint" and s.context.trace_id == start.context.trace_id
    )
    assert start.parent is not None
    assert start.parent.span_id == root.context.span_id
    trace_id = format(start.context.trace_id, "032x")

    spans = spans_of_trace(collector, trace_id, 2)
    run_act = _one(spans, "RunActivity:telemetry_probe.fetch")
    http = _one(spans, "GET")
    # The SDK's TracingInterceptor carries the caller's StartActivity span in the job's headers:
    # the worker's RunActivity hangs under it, the HTTP call under RunActivity.
    assert run_act.parent_id == format(start.context.span_id, "016x")
    assert http.parent_id == run_act.span_id
    assert {s.service for s in spans} == {"lanes-sync"}
    assert run_act.attributes["temporalActivityID"].string_value == job.id

    # The downstream service received the same trace in its traceparent header.
    calls = [r for r in target.requests if r[1] == "/resource"]
    assert any(r[2].get("traceparent", "").split("-")[1] == trace_id for r in calls)

    # OTEL_TRACES_EXPORTER=otlp,console: the same spans as one JSON object per line on stdout.
    console = wait_for(
        lambda: [s for s in worker.console_spans() if s["context"]["trace_id"] == "0x" + trace_id],
        5,
        lambda: "no console spans",
    )
    assert {s["name"] for s in console} >= {run_act.name, http.name}


async def test_http_call_in_a_threaded_activity_is_a_child_of_its_span(
    caller: Caller, worker: WorkerProcess, target: LoopbackServer, collector: LoopbackServer
) -> None:
    job = await run_probe(caller, "telemetry_probe.fetch_in_thread", target)
    run_act_spans = wait_for(
        lambda: [
            s
            for s in collector.spans
            if s.name == "RunActivity:telemetry_probe.fetch_in_thread"
            and s.attributes["temporalActivityID"].string_value == job.id
        ],
        10,
        lambda: "no RunActivity span for the threaded activity",
    )
    run_act = run_act_spans[0]
    http = wait_for(
        lambda: [s for s in collector.spans if s.name == "GET" and s.parent_id == run_act.span_id],
        10,
        lambda: "the threaded activity's GET is not a child of its RunActivity span",
    )
    assert http[0].trace_id == run_act.trace_id
    lines = [
        line
        for line in worker.log_lines()
        if line.get("job_id") == job.id and line.get("logger") == "probe"
    ]
    assert lines, "the threaded activity logged nothing"
    assert lines[0]["trace_id"] == run_act.trace_id
    assert lines[0]["activity"] == "telemetry_probe.fetch_in_thread"


async def test_every_activity_log_line_carries_the_job_identifiers(
    caller: Caller, worker: WorkerProcess, target: LoopbackServer
) -> None:
    job = await run_probe(caller, "telemetry_probe.fetch", target)
    activity_lines = [line for line in worker.log_lines() if line.get("job_id") == job.id]
    # structlog, stdlib logging, activity.logger, and the worker's own "activity finished".
    assert {line["logger"] for line in activity_lines} >= {
        "probe",
        "probe.stdlib",
        "temporalio.activity",
        "lanes.worker",
    }
    trace_ids = set()
    for line in activity_lines:
        for key in (
            "trace_id",
            "span_id",
            "job_id",
            "activity",
            "attempt",
            "task_queue",
        ):
            assert line.get(key) not in (None, ""), f"{key} missing in {line}"
        assert line["activity"] == "telemetry_probe.fetch"
        assert line["attempt"] == 1
        assert line["task_queue"] == "sync"
        assert line["service"] == "lanes-sync"
        trace_ids.add(line["trace_id"])
    assert len(trace_ids) == 1

    finished = [line for line in activity_lines if line["event"] == "activity finished"]
    assert len(finished) == 1
    assert finished[0]["outcome"] == "completed"
    assert finished[0]["duration_ms"] > 0


async def test_secrets_and_email_addresses_never_reach_the_output(
    caller: Caller, worker: WorkerProcess, target: LoopbackServer
) -> None:
    job = await run_probe(caller, "telemetry_probe.fetch", target)
    stderr = worker.stderr.read_text()
    mine = [line for line in worker.log_lines() if line.get("job_id") == job.id]
    assert mine, "the activity logged nothing"
    assert SECRET not in stderr
    assert EMAIL not in stderr
    assert SECRET not in worker.stdout.read_text()
    structured = next(line for line in mine if line["event"] == "probe fetching")
    assert structured["api_key"] == "[REDACTED]"
    assert structured["user_email"] == MASKED_EMAIL
    stdlib = next(line for line in mine if line.get("logger") == "probe.stdlib")
    assert (
        stdlib["event"]
        == f"calling with Authorization: Bearer [REDACTED] on behalf of {MASKED_EMAIL}"
    )


async def test_failed_attempt_is_logged_and_counted(caller: Caller, worker: WorkerProcess) -> None:
    job = await dispatch("telemetry_probe.fail", None, task_queue="sync", client=caller.client)
    with pytest.raises(JobFailedError):
        await job.result()
    lines = [line for line in worker.log_lines() if line.get("job_id") == job.id]
    finished = next(line for line in lines if line["event"] == "activity finished")
    assert finished["outcome"] == "failed"
    assert finished["error_type"] == "ProbeFailure"
    assert finished["level"] == "warning"

    metrics = worker.scrape()
    assert (
        'lanes_activity_failures_total{activity="telemetry_probe.fail",error_type="ProbeFailure"}'
        in metrics
    )


async def test_metrics_endpoint_serves_temporal_and_lanes_metrics(
    caller: Caller, worker: WorkerProcess, target: LoopbackServer
) -> None:
    await run_probe(caller, "telemetry_probe.fetch", target)
    metrics = worker.scrape()
    names = {
        line.split("{")[0].split(" ")[0]
        for line in metrics.splitlines()
        if line and not line.startswith("#")
    }
    assert "temporal_activity_execution_latency_count" in names
    assert "temporal_request" in names
    count = [
        line
        for line in metrics.splitlines()
        if line.startswith(
            'lanes_activity_duration_seconds_count{activity="telemetry_probe.fetch",outcome="completed"}'
        )
    ]
    assert count, "no lanes_activity_duration_seconds for the probe"
    assert float(count[0].rsplit(" ", 1)[1]) >= 1


async def test_dispatch_counts_started_and_duplicate_jobs(
    caller: Caller, worker: WorkerProcess, target: LoopbackServer
) -> None:
    def count(outcome: str) -> float:
        labels = {"activity": "telemetry_probe.fetch", "outcome": outcome}
        return REGISTRY.get_sample_value("lanes_dispatches_total", labels) or 0.0

    started, duplicate = count("started"), count("duplicate")
    payload = {"url": f"{target.url}/resource", "api_key": SECRET, "email": EMAIL}
    job_id = f"telemetry-dup-{uuid.uuid4()}"
    first = await dispatch(
        "telemetry_probe.fetch",
        payload,
        task_queue="sync",
        id=job_id,
        client=caller.client,
    )
    second = await dispatch(
        "telemetry_probe.fetch",
        payload,
        task_queue="sync",
        id=job_id,
        client=caller.client,
    )
    assert first.started
    assert second.duplicate
    assert await first.result() == 200
    assert count("started") == started + 1
    assert count("duplicate") == duplicate + 1


async def test_lanes_dispatch_from_a_shell_is_one_trace_with_the_worker(
    temporal_server: DevServer, worker: WorkerProcess
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")}
    env.update(TEMPORAL_ADDRESS=temporal_server.address, OTEL_TRACES_EXPORTER="console")
    lanes = str(Path(sys.executable).with_name("lanes"))
    done = await asyncio.create_subprocess_exec(
        *(lanes, "dispatch", "lanes.ping", "--queue", "sync", "--wait"),
        env=env,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(done.communicate(), 60)
    assert done.returncode == 0, err.decode()
    # Spans are one JSON object per line; the command's own output is indented JSON.
    cli_spans = [json.loads(line) for line in out.decode().splitlines() if line.startswith('{"')]
    assert cli_spans, f"the CLI printed no spans:\n{out.decode()}"
    assert {s["resource"]["attributes"]["service.name"] for s in cli_spans} == {"lanes-cli"}
    trace_ids = {s["context"]["trace_id"] for s in cli_spans}
    assert len(trace_ids) == 1

    def worker_spans() -> list[dict[str, Any]]:
        return [s for s in worker.console_spans() if s["context"]["trace_id"] in trace_ids]

    spans = wait_for(
        lambda: (
            (s := worker_spans()) and any(x["name"] == "RunActivity:lanes.ping" for x in s) and s
        ),
        10,
        lambda: f"no worker span in trace {trace_ids}: {[s['name'] for s in worker_spans()]}",
    )
    run_activity = next(s for s in spans if s["name"] == "RunActivity:lanes.ping")
    assert run_activity["parent_id"] is not None
