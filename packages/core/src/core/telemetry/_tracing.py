"""OpenTelemetry tracing from the standard ``OTEL_*`` variables.

One job is one trace: ``dispatch`` opens ``StartActivity:<activity>`` in the caller
(``StartWorkflow:SingleActivityWorkflow`` with ``LANES_DISPATCH_MODE=workflow``), Temporal's
``TracingInterceptor`` (installed on every client by :func:`core.client.connect`, and so on every
worker built from that client) carries the context in the headers to ``RunActivity:...`` (and the
workflow spans, on the workflow engine) in the worker process, and the
httpx / SQLAlchemy instrumentation hangs each outbound call under the activity's span.

What turns it on:

- ``OTEL_TRACES_EXPORTER``: comma-separated ``otlp``, ``console`` (one JSON span per line on
  stdout), ``none``. Default: ``otlp`` when an OTLP endpoint is set, otherwise ``none``. The spec's
  default is ``otlp`` always; we deviate so a laptop without a collector pays nothing and logs no
  connection errors.
- ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT``, ``..._HEADERS``,
  ``..._TIMEOUT``, ``..._COMPRESSION``, ``..._CERTIFICATE``: read by the OTLP exporter itself.
- ``OTEL_EXPORTER_OTLP_PROTOCOL`` / ``..._TRACES_PROTOCOL``: ``http/protobuf`` (default, shipped)
  or ``grpc`` (install ``opentelemetry-exporter-otlp-proto-grpc``).
- ``OTEL_TRACES_SAMPLER`` / ``OTEL_TRACES_SAMPLER_ARG``, ``OTEL_BSP_*``,
  ``OTEL_RESOURCE_ATTRIBUTES``, ``OTEL_SERVICE_NAME``: read by the SDK.
- ``OTEL_SDK_DISABLED=true`` turns everything off.

With nothing configured no tracer provider is installed: the API's no-op tracer stays in place,
the interceptor's spans are non-recording objects and nothing is exported. Every exported span
has been redacted first (:mod:`._redact_spans`) (see ``bench/tracing.py``
for what that costs per job).
"""

from __future__ import annotations

import logging
import os
import sys
import weakref
from typing import TYPE_CHECKING, Any

from opentelemetry import trace

from core.telemetry._errors import TelemetryConfigError
from core.telemetry._redact_spans import RedactingSpanProcessor

if TYPE_CHECKING:
    # The SDK, its exporters and the instrumentations are imported only once tracing is on: a
    # worker without OTEL_* variables never loads them (start-up time and memory, bench/startup).
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SpanExporter

__all__ = [
    "TracingConfigError",
    "configure_tracing",
    "instrument_sqlalchemy",
    "shutdown_tracing",
    "tracer_provider",
]

log = logging.getLogger("lanes.telemetry")

_provider: TracerProvider | None = None
_sqlalchemy_engines: weakref.WeakSet[Any] = weakref.WeakSet()


class TracingConfigError(TelemetryConfigError):
    """An ``OTEL_*`` variable asks for something Lanes cannot do."""


def tracer_provider() -> TracerProvider | None:
    """The SDK provider :func:`configure_tracing` installed, or ``None`` when tracing is off."""
    return _provider


def _exporter_names() -> list[str]:
    raw = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if not raw:
        has_endpoint = os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT") or os.environ.get(
            "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"
        )
        return ["otlp"] if has_endpoint else []
    names = [n.strip() for n in raw.split(",") if n.strip() and n.strip() != "none"]
    unknown = [n for n in names if n not in ("otlp", "console")]
    if unknown:
        raise TracingConfigError(
            f"OTEL_TRACES_EXPORTER names {', '.join(unknown)!s}, which Lanes does not ship; "
            "use otlp, console or none (comma-separated)"
        )
    return names


def _otlp_exporter() -> SpanExporter:
    protocol = (
        os.environ.get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL")
        or os.environ.get("OTEL_EXPORTER_OTLP_PROTOCOL")
        or "http/protobuf"
    ).lower()
    if protocol == "http/protobuf":
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        return OTLPSpanExporter()
    if protocol == "grpc":
        try:
            # Optional extra (it pulls in grpcio), so mypy may not find it installed.
            from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import (  # type: ignore[import-not-found,unused-ignore]
                OTLPSpanExporter as GrpcSpanExporter,
            )
        except ImportError:
            raise TracingConfigError(
                "OTEL_EXPORTER_OTLP_PROTOCOL=grpc needs opentelemetry-exporter-otlp-proto-grpc; "
                "install it, or use http/protobuf (port 4318 on a collector)"
            ) from None
        exporter: SpanExporter = GrpcSpanExporter()
        return exporter
    raise TracingConfigError(
        f"OTEL_EXPORTER_OTLP_PROTOCOL={protocol!r} is not supported; use http/protobuf or grpc"
    )


def _console_exporter() -> SpanExporter:
    from opentelemetry.sdk.trace.export import ConsoleSpanExporter

    # One compact JSON object per line, so a file of them is easy to parse (`jq`, tests).
    return ConsoleSpanExporter(
        out=sys.stdout, formatter=lambda span: span.to_json(indent=None) + "\n"
    )


def configure_tracing(service_name: str) -> TracerProvider | None:
    """Install a tracer provider and the httpx instrumentation when the environment asks for it.

    Returns the provider, or ``None`` when tracing stays off. Safe to call twice: the first
    call wins (OpenTelemetry's global provider can be set only once per process).
    """
    global _provider
    if _provider is not None:
        return _provider
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    names = _exporter_names()
    if not names:
        return None
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor

    service = os.environ.get("OTEL_SERVICE_NAME") or service_name
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    for name in names:
        if name == "otlp":
            processor: Any = BatchSpanProcessor(_otlp_exporter())
        else:
            # Console is for a person or a test reading along: no batching delay, no loss.
            processor = SimpleSpanProcessor(_console_exporter())
        # Every exporter gets spans that passed core.redact (attributes, events, status).
        provider.add_span_processor(RedactingSpanProcessor(processor))
    trace.set_tracer_provider(provider)
    _provider = provider

    from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor

    HTTPXClientInstrumentor().instrument(tracer_provider=provider)
    log.info("tracing on: service %s, exporters %s", service, ", ".join(names))
    return provider


def instrument_sqlalchemy(engine: Any) -> bool:
    """Make every statement ``engine`` runs a child span of the current span (e.g. the activity).

    Accepts a sync ``Engine`` or an ``AsyncEngine``. Returns ``False`` (and does nothing) when
    tracing is off. Needs SQLAlchemy 2.0.x: the instrumentation records nothing on 2.1.
    """
    if _provider is None:
        return False
    from opentelemetry.instrumentation.sqlalchemy import SQLAlchemyInstrumentor

    sync_engine = getattr(engine, "sync_engine", engine)
    _sqlalchemy_engines.add(sync_engine)
    instrumentor = SQLAlchemyInstrumentor()
    # The instrumentor is a singleton that instruments only on its first call; re-instrumenting
    # with the full list is how a second engine (another database) gets its listeners too.
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    instrumentor.instrument(engines=list(_sqlalchemy_engines), tracer_provider=_provider)
    return True


def shutdown_tracing() -> None:
    """Flush and stop exporters; the worker calls this before it ends the process."""
    if _provider is not None:
        # Bounded: an unreachable collector must not hold up a worker's exit (or a second Ctrl-C)
        # for the exporter's own timeout and retries.
        _provider.force_flush(timeout_millis=3000)
        _provider.shutdown()
