"""The OTEL_* variables: what turns tracing and SDK metrics on, and the errors for what cannot be
honoured. Anything that installs a global tracer provider runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import pytest
from temporalio.runtime import OpenTelemetryConfig, PrometheusConfig

from core.telemetry import (
    MetricsConfigError,
    TracingConfigError,
    configure_tracing,
    instrument_sqlalchemy,
    sdk_metrics_config,
    tracer_provider,
)

OTEL_VARS = [
    "OTEL_TRACES_EXPORTER",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_METRICS_EXPORTER",
    "OTEL_SDK_DISABLED",
]


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    for name in OTEL_VARS:
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def run_python(code: str, **env: str) -> str:
    """Run ``code`` in a fresh interpreter with ``env`` added; its stdout."""
    full = {k: v for k, v in os.environ.items() if not k.startswith("OTEL_")} | env
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_nothing_configured_means_no_tracer_provider(clean_env: pytest.MonkeyPatch) -> None:
    assert configure_tracing("lanes-test") is None
    assert tracer_provider() is None
    assert instrument_sqlalchemy(object()) is False


def test_an_unknown_exporter_is_a_clear_error(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_TRACES_EXPORTER", "otlp,zipkin")
    with pytest.raises(TracingConfigError, match=r"zipkin.*use otlp, console or none"):
        configure_tracing("lanes-test")
    assert tracer_provider() is None


def test_grpc_without_its_exporter_installed_says_what_to_install(
    clean_env: pytest.MonkeyPatch,
) -> None:
    try:
        import opentelemetry.exporter.otlp.proto.grpc  # noqa: F401
    except ImportError:
        pass
    else:
        pytest.skip("the gRPC exporter is installed here")
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4317")
    clean_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    with pytest.raises(TracingConfigError, match="opentelemetry-exporter-otlp-proto-grpc"):
        configure_tracing("lanes-test")
    assert tracer_provider() is None


def test_sdk_metrics_default_to_a_loopback_prometheus_endpoint(
    clean_env: pytest.MonkeyPatch,
) -> None:
    config = sdk_metrics_config()
    assert isinstance(config, PrometheusConfig)
    assert config.bind_address.startswith("127.0.0.1:")


def test_sdk_metrics_go_to_the_otlp_endpoint_when_asked(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_METRICS_EXPORTER", "otlp")
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318/")
    clean_env.setenv("OTEL_EXPORTER_OTLP_HEADERS", "x-tenant=lanes,authorization=Basic%20abc")
    config = sdk_metrics_config()
    assert isinstance(config, OpenTelemetryConfig)
    assert config.url == "http://collector:4318/v1/metrics"
    assert config.http
    assert config.headers == {"x-tenant": "lanes", "authorization": "Basic abc"}

    clean_env.setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc")
    clean_env.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4317")
    grpc = sdk_metrics_config()
    assert isinstance(grpc, OpenTelemetryConfig)
    assert grpc.url == "http://collector:4317"
    assert not grpc.http


def test_sdk_metrics_config_errors_name_the_variable(clean_env: pytest.MonkeyPatch) -> None:
    clean_env.setenv("OTEL_METRICS_EXPORTER", "otlp")
    with pytest.raises(MetricsConfigError, match="OTEL_EXPORTER_OTLP_ENDPOINT"):
        sdk_metrics_config()
    clean_env.setenv("OTEL_METRICS_EXPORTER", "statsd")
    with pytest.raises(MetricsConfigError, match="OTEL_METRICS_EXPORTER='statsd'"):
        sdk_metrics_config()
    clean_env.setenv("OTEL_METRICS_EXPORTER", "none")
    assert sdk_metrics_config() is None


CONSOLE_SPANS = """
    from opentelemetry import trace
    from core import telemetry
    telemetry.configure_tracing("lanes-config-test")
    tracer = trace.get_tracer("test")
    with tracer.start_as_current_span("parent"):
        with tracer.start_as_current_span("child"):
            pass
    telemetry.shutdown()
"""


def test_console_exporter_writes_one_json_span_per_line() -> None:
    out = run_python(CONSOLE_SPANS, OTEL_TRACES_EXPORTER="console")
    spans = [json.loads(line) for line in out.splitlines()]
    assert [s["name"] for s in spans] == ["child", "parent"]
    assert spans[0]["parent_id"] == spans[1]["context"]["span_id"]
    assert spans[1]["resource"]["attributes"]["service.name"] == "lanes-config-test"


def test_the_standard_sampler_variable_is_honoured() -> None:
    out = run_python(
        CONSOLE_SPANS, OTEL_TRACES_EXPORTER="console", OTEL_TRACES_SAMPLER="always_off"
    )
    assert out.strip() == ""


def test_otel_service_name_wins_over_the_default() -> None:
    out = run_python(CONSOLE_SPANS, OTEL_TRACES_EXPORTER="console", OTEL_SERVICE_NAME="billing")
    assert json.loads(out.splitlines()[0])["resource"]["attributes"]["service.name"] == "billing"


def test_sql_statements_become_child_spans() -> None:
    pytest.importorskip("sqlalchemy", reason="SQLAlchemy arrives with core.db")
    out = run_python(
        """
        import sqlalchemy
        from opentelemetry import trace
        from core import telemetry
        telemetry.configure_tracing("lanes-sql-test")
        engine = sqlalchemy.create_engine("sqlite://")
        assert telemetry.instrument_sqlalchemy(engine)
        with trace.get_tracer("test").start_as_current_span("activity"):
            with engine.connect() as conn:
                conn.execute(sqlalchemy.text("select 1"))
        telemetry.shutdown()
        """,
        OTEL_TRACES_EXPORTER="console",
    )
    spans = {s["name"]: s for s in map(json.loads, out.splitlines())}
    sql = [s for name, s in spans.items() if name.upper().startswith("SELECT")]
    assert sql, f"no SQL span in {list(spans)}"
    assert sql[0]["parent_id"] == spans["activity"]["context"]["span_id"]
