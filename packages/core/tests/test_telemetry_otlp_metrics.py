"""``OTEL_METRICS_EXPORTER=otlp``: a real worker pushes the Temporal SDK's metrics to the collector
over OTLP/HTTP, and its ``/metrics`` keeps serving Lanes' own."""

from __future__ import annotations

import sys
from pathlib import Path

from core.dev.server import DevServer

sys.path.insert(0, str(Path(__file__).parent / "telemetry_support"))
from telemetry_loopback import LoopbackServer
from telemetry_worker_process import sync_worker, wait_for


def test_sdk_metrics_are_pushed_to_the_otlp_endpoint(
    temporal_server: DevServer, tmp_path: Path, worker_database_url: str
) -> None:
    collector = LoopbackServer()
    try:
        with sync_worker(
            temporal_server.address,
            tmp_path,
            LANES_DATABASE_URL=worker_database_url,
            OTEL_METRICS_EXPORTER="otlp",
            OTEL_EXPORTER_OTLP_ENDPOINT=collector.url,
            OTEL_METRIC_EXPORT_INTERVAL="200",
            OTEL_TRACES_EXPORTER="none",
        ) as worker:
            # A worker that only polls already records its requests to the server.
            wait_for(
                lambda: "temporal_request" in collector.metric_names,
                15,
                lambda: f"no temporal_request pushed; got {sorted(collector.metric_names)}",
            )
            assert all(path == "/v1/metrics" for _, path, _, _ in collector.requests)
            served = worker.scrape()
        lines = [line for line in served.splitlines() if not line.startswith("#")]
        assert not [line for line in lines if line.startswith("temporal_")]
        assert "lanes_activity_duration_seconds" in served
    finally:
        collector.stop()
