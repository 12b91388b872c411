"""Metrics: Lanes' own (prometheus_client) and the Temporal SDK's, on one ``/metrics``.

Lanes' metrics:

- ``lanes_dispatches_total{activity, outcome}``: jobs handed to Temporal by ``dispatch``
  (``started``, ``duplicate``, ``error``), counted in the calling process.
- ``lanes_activity_duration_seconds{activity, outcome}``: one observation per finished attempt.
- ``lanes_activity_failures_total{activity, error_type}``: failed attempts.

The SDK's metrics (``temporal_*``: poll latencies, schedule-to-start, task slots, sticky cache...)
come from its Rust core, which can serve them in Prometheus format itself. We let it do exactly
that on a loopback port (``127.0.0.1:<free port>``, never reachable from outside the pod) and
``/metrics`` on the worker's health port appends that text to Lanes' own. Why this and not a
``MetricBuffer`` translated into prometheus_client: the core already renders its histograms,
buckets, labels and names correctly (the names Temporal's dashboards expect), the proxy is ~15
lines with no per-metric mapping to keep in step with SDK releases, and a failed fetch only drops
the SDK part of one scrape (a comment line says so) instead of losing updates from a buffer.

``OTEL_METRICS_EXPORTER`` picks where the SDK's metrics go: ``prometheus`` (default, as above),
``otlp`` (pushed by the core to ``OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`` or
``OTEL_EXPORTER_OTLP_ENDPOINT``; ``/metrics`` then serves Lanes' metrics only, because the runtime
takes one metrics sink; ``OTEL_METRIC_EXPORT_INTERVAL`` sets the push period, default 10 s), or
``none``. The runtime must exist before the client connects, so
:func:`temporal_runtime` is what :func:`core.client.connect` passes as ``runtime=``.
"""

from __future__ import annotations

import asyncio
import os
from datetime import timedelta

from prometheus_client import REGISTRY, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4 as METRICS_CONTENT_TYPE
from temporalio.runtime import (
    OpenTelemetryConfig,
    PrometheusConfig,
    Runtime,
    TelemetryConfig,
)

from core.dev.server import free_port
from core.telemetry._errors import TelemetryConfigError

__all__ = [
    "ACTIVITY_DURATION",
    "ACTIVITY_FAILURES",
    "DISPATCHES",
    "METRICS_CONTENT_TYPE",
    "MetricsConfigError",
    "metrics_text",
    "sdk_metrics_config",
    "temporal_runtime",
]

DISPATCHES = Counter(
    "lanes_dispatches",
    "Jobs dispatched, by activity and outcome (started, duplicate, error).",
    ["activity", "outcome"],
)
ACTIVITY_DURATION = Histogram(
    "lanes_activity_duration_seconds",
    "Duration of finished activity attempts, by activity and outcome.",
    ["activity", "outcome"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
ACTIVITY_FAILURES = Counter(
    "lanes_activity_failures",
    "Failed activity attempts, by activity and error type.",
    ["activity", "error_type"],
)

_runtime: Runtime | None = None
_sdk_metrics_url: str | None = None


class MetricsConfigError(TelemetryConfigError):
    """``OTEL_METRICS_EXPORTER`` or the OTLP endpoint is not usable."""


def _otlp_metrics_config() -> OpenTelemetryConfig:
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).lower()
    http = protocol != "grpc"
    url = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT")
    if not url:
        base = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        if not base:
            raise MetricsConfigError(
                "OTEL_METRICS_EXPORTER=otlp needs OTEL_EXPORTER_OTLP_ENDPOINT (or "
                "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT), e.g. http://otel-collector:4318"
            )
        # The spec: the generic endpoint gets the signal path appended for HTTP, not for gRPC.
        url = base.rstrip("/") + "/v1/metrics" if http else base
    # The OTLP exporters' own parser (W3C baggage format, URL-decoded), so a header set once in
    # OTEL_EXPORTER_OTLP_HEADERS means the same to the span exporter and the SDK's metrics.
    from opentelemetry.util.re import parse_env_headers

    raw = os.environ.get("OTEL_EXPORTER_OTLP_METRICS_HEADERS") or os.environ.get(
        "OTEL_EXPORTER_OTLP_HEADERS", ""
    )
    headers = dict(parse_env_headers(raw, liberal=True))
    interval = os.environ.get("OTEL_METRIC_EXPORT_INTERVAL", "10000")
    try:
        period = timedelta(milliseconds=int(interval))
    except ValueError:
        raise MetricsConfigError(
            f"OTEL_METRIC_EXPORT_INTERVAL={interval!r} is not a number of milliseconds"
        ) from None
    return OpenTelemetryConfig(url=url, headers=headers, http=http, metric_periodicity=period)


def sdk_metrics_config() -> OpenTelemetryConfig | PrometheusConfig | None:
    """Where the Temporal SDK's metrics go, from ``OTEL_METRICS_EXPORTER`` (see module docs)."""
    mode = os.environ.get("OTEL_METRICS_EXPORTER", "prometheus").strip().lower() or "prometheus"
    if mode == "none":
        return None
    if mode == "otlp":
        return _otlp_metrics_config()
    if mode != "prometheus":
        raise MetricsConfigError(
            f"OTEL_METRICS_EXPORTER={mode!r} is not supported; use prometheus (served on the "
            "worker's /metrics), otlp or none"
        )
    return PrometheusConfig(bind_address=f"127.0.0.1:{free_port()}")


def temporal_runtime() -> Runtime | None:
    """The process's Temporal runtime with SDK metrics on, created on first use.

    ``None`` when ``OTEL_METRICS_EXPORTER=none`` (clients then use the SDK's default runtime).
    """
    global _runtime, _sdk_metrics_url
    if _runtime is not None:
        return _runtime
    last: Exception | None = None
    for _ in range(3):  # a free port may be taken between the probe and the bind: try another
        metrics = sdk_metrics_config()
        if metrics is None:
            return None
        try:
            _runtime = Runtime(telemetry=TelemetryConfig(metrics=metrics))
        except Exception as err:  # the core reports a bind failure as a plain exception
            last = err
            continue
        if isinstance(metrics, PrometheusConfig):
            _sdk_metrics_url = f"http://{metrics.bind_address}/metrics"
        return _runtime
    raise MetricsConfigError(f"cannot start the Temporal SDK metrics: {last}")


async def metrics_text() -> bytes:
    """Lanes' metrics followed by the SDK's, in Prometheus text format."""
    body = generate_latest(REGISTRY)
    if _sdk_metrics_url is None:
        return body
    try:
        # A loopback GET in a thread: the stdlib client is enough for one local scrape.
        sdk = await asyncio.to_thread(_fetch, _sdk_metrics_url)
    except (OSError, TimeoutError) as err:  # urllib's URLError/HTTPError are OSErrors
        note = f"# Temporal SDK metrics unavailable in this scrape: {type(err).__name__}\n"
        return body + note.encode()
    return body + (sdk if sdk.endswith(b"\n") or not sdk else sdk + b"\n")


def _fetch(url: str) -> bytes:
    import urllib.request

    with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - our own loopback URL
        data: bytes = response.read()
    return data
