"""deploy/compose.yaml: valid against the compose spec, and wired the way the workers need."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import yaml

from core.settings import LanesSettings
from core.task_queues import TaskQueue

DEPLOY = Path(__file__).resolve().parents[1]
COMPOSE = DEPLOY / "compose.yaml"
DOMAINS = [q.value for q in TaskQueue]


def load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = yaml.safe_load(path.read_text())
    return data


def seconds(duration: str) -> float:
    """A compose duration ("1m30s", "45s") in seconds."""
    units = {"h": 3600.0, "m": 60.0, "s": 1.0, "ms": 0.001}
    parts = re.findall(r"(\d+(?:\.\d+)?)(ms|h|m|s)", duration)
    assert "".join(n + u for n, u in parts) == duration, f"not a compose duration: {duration!r}"
    return sum(float(n) * units[u] for n, u in parts)


def host_of(url: str) -> str:
    return re.sub(r"^[a-z+]+://([^@/]*@)?", "", url).split(":")[0].split("/")[0]


def test_compose_file_matches_the_compose_spec(run_tool: Any) -> None:
    result = run_tool(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(COMPOSE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_compose_spec_check_catches_a_wrong_condition(run_tool: Any, tmp_path: Path) -> None:
    broken = tmp_path / "compose.yaml"
    broken.write_text(
        COMPOSE.read_text().replace(
            "condition: service_completed_successfully", "condition: service_finished", 1
        )
    )
    result = run_tool(["check-jsonschema", "--builtin-schema", "vendor.compose-spec", str(broken)])
    assert result.returncode != 0
    assert "service_finished" in result.stdout + result.stderr


def test_each_domain_is_its_own_worker_service() -> None:
    services = load(COMPOSE)["services"]
    workers = {name: s for name, s in services.items() if name.endswith("-worker")}
    assert set(workers) == {f"{d}-worker" for d in DOMAINS}
    for domain in DOMAINS:
        worker = workers[f"{domain}-worker"]
        build = worker["build"]
        assert (DEPLOY / build["context"] / build["dockerfile"]).resolve() == DEPLOY / "Dockerfile"
        assert build["args"] == {"DOMAIN": domain}
        assert "target" not in build, "the worker is the Dockerfile's default (last) stage"
        env = worker["environment"]
        assert env["OTEL_SERVICE_NAME"] == f"lanes-{domain}"
        for key in ("TEMPORAL_ADDRESS", "LANES_DATABASE_URL", "OTEL_EXPORTER_OTLP_ENDPOINT"):
            assert host_of(env[key]) in services, f"{domain}: {key} names no compose service"
        assert host_of(env["LANES_DATABASE_URL"]) == "app-db"


def test_workers_start_after_migrations_and_drain_before_sigkill() -> None:
    services = load(COMPOSE)["services"]
    assert services["migrate"]["build"]["target"] == "migrate"
    assert services["migrate"]["restart"] == "no"
    for name, worker in services.items():
        if not name.endswith("-worker"):
            continue
        depends = worker["depends_on"]
        assert depends["migrate"]["condition"] == "service_completed_successfully"
        assert depends["temporal"]["condition"] == "service_healthy"
        assert all(dep in services for dep in depends)
        env = worker["environment"]
        drain = LanesSettings(shutdown_timeout=env["LANES_SHUTDOWN_TIMEOUT"]).shutdown_timeout
        assert seconds(worker["stop_grace_period"]) > drain.total_seconds(), name
        assert worker["stop_signal"] == "SIGTERM"
        probe = " ".join(worker["healthcheck"]["test"])
        assert f":{env['LANES_HEALTH_PORT']}/readyz" in probe


def test_collector_sends_traces_to_jaeger_and_scrapes_every_worker() -> None:
    services = load(COMPOSE)["services"]
    (mount,) = services["otel-collector"]["volumes"]
    config = load(DEPLOY / mount.split(":")[0])
    pipelines = config["service"]["pipelines"]
    for pipeline in pipelines.values():
        assert set(pipeline["receivers"]) <= set(config["receivers"])
        assert set(pipeline["exporters"]) <= set(config["exporters"])
    (exporter,) = pipelines["traces"]["exporters"]
    assert host_of(config["exporters"][exporter]["endpoint"]) == "jaeger"
    scrape = config["receivers"]["prometheus"]["config"]["scrape_configs"][0]
    (dns,) = scrape["dns_sd_configs"]
    assert set(dns["names"]) == {n for n in services if n.endswith("-worker")}
    ports = {services[n]["environment"]["LANES_HEALTH_PORT"] for n in dns["names"]}
    assert ports == {str(dns["port"])}


def test_the_email_worker_sends_to_mailpit_unless_given_a_relay() -> None:
    services = load(COMPOSE)["services"]
    value = services["email-worker"]["environment"]["LANES_SMTP_URL"]
    default = re.fullmatch(r"\$\{LANES_SMTP_URL:-(.+)\}", value)
    assert default is not None, value
    assert host_of(default.group(1)) == "mailpit" and "mailpit" in services
    image = services["mailpit"]["image"]
    assert re.fullmatch(r"axllent/mailpit:v\d+\.\d+\.\d+", image), "pin the image's version"
