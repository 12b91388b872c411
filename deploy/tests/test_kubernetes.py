"""deploy/k8s: every overlay renders, validates strictly, and says what the worker needs.

``kubernetes-validate --strict`` checks the Kubernetes kinds against the bundled API schemas. KEDA's
CRD schemas are not available offline, so ScaledObject and TriggerAuthentication are checked here
field by field against the KEDA ``temporal`` scaler's documented shape.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from core.settings import LanesSettings
from core.task_queues import TaskQueue

DOMAINS = [q.value for q in TaskQueue]
EXPECTED_OVERLAYS = {*DOMAINS, "production", "examples/sync-cloud-api-key"}


def docs_of(text: str) -> list[dict[str, Any]]:
    return [d for d in yaml.safe_load_all(text) if d]


def of_kind(docs: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [d for d in docs if d["kind"] == kind]


def settings_of(docs: list[dict[str, Any]], deployment: dict[str, Any]) -> dict[str, str]:
    """The ConfigMap data a Deployment's worker container reads through envFrom."""
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    names = [e["configMapRef"]["name"] for e in container["envFrom"] if "configMapRef" in e]
    maps = {c["metadata"]["name"]: c["data"] for c in of_kind(docs, "ConfigMap")}
    assert len(names) == 1, f"one settings ConfigMap per worker, found {names}"
    assert names[0] in maps, f"{names[0]} is not rendered alongside"
    data: dict[str, str] = maps[names[0]]
    return data


def domain_of(resource: dict[str, Any]) -> str:
    return str(resource["metadata"]["labels"]["lanes.dev/domain"])


def test_every_overlay_renders(rendered: dict[str, str]) -> None:
    assert set(rendered) == EXPECTED_OVERLAYS
    for domain in DOMAINS:
        docs = docs_of(rendered[domain])
        assert sorted(d["kind"] for d in docs) == [
            "ConfigMap",
            "Deployment",
            "Job",
            "PodDisruptionBudget",
            "ScaledObject",
        ], domain
        assert {domain_of(d) for d in docs} == {domain}, "an overlay ships one domain only"


def test_manifests_validate_strictly(
    rendered: dict[str, str], run_tool: Any, tmp_path: Path
) -> None:
    files = []
    for name, text in rendered.items():
        path = tmp_path / (name.replace("/", "_") + ".yaml")
        path.write_text(text)
        files.append(str(path))
    result = run_tool(["kubernetes-validate", "--strict", "--quiet", *files])
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    # Only KEDA's kinds may lack a schema: anything else would have gone unvalidated.
    unvalidated = re.findall(r"Couldn't find schema for kind (\w+) with api version (\S+)", output)
    assert unvalidated, "expected the KEDA kinds to be reported as checked elsewhere"
    assert {version for _, version in unvalidated} == {"keda.sh/v1alpha1"}, output


def test_strict_validation_catches_a_misspelt_field(
    rendered: dict[str, str], run_tool: Any, tmp_path: Path
) -> None:
    deployment = of_kind(docs_of(rendered["sync"]), "Deployment")[0]
    deployment["spec"]["template"]["spec"]["terminationGracePeriodSecond"] = 60
    path = tmp_path / "misspelt.yaml"
    path.write_text(yaml.safe_dump(deployment))
    result = run_tool(["kubernetes-validate", "--strict", str(path)])
    assert result.returncode != 0
    assert "terminationGracePeriodSecond" in result.stdout + result.stderr


@pytest.mark.parametrize("overlay", sorted(EXPECTED_OVERLAYS))
def test_workers_drain_probe_and_run_unprivileged(rendered: dict[str, str], overlay: str) -> None:
    docs = docs_of(rendered[overlay])
    deployments = of_kind(docs, "Deployment")
    assert deployments
    for deployment in deployments:
        domain = domain_of(deployment)
        pod = deployment["spec"]["template"]["spec"]
        container = pod["containers"][0]
        settings = settings_of(docs, deployment)
        # Parsed by the worker's own settings class, so the value is one the worker accepts.
        drain = LanesSettings(shutdown_timeout=settings["LANES_SHUTDOWN_TIMEOUT"]).shutdown_timeout
        assert pod["terminationGracePeriodSeconds"] > drain.total_seconds(), (
            f"{domain}: Kubernetes would SIGKILL the worker before its drain ends"
        )
        assert "replicas" not in deployment["spec"], "KEDA owns the replica count"
        assert container["image"].rsplit(":", 1)[0].endswith(f"/lanes-{domain}")
        assert settings["OTEL_SERVICE_NAME"] == f"lanes-{domain}"
        ports = {p["name"]: p["containerPort"] for p in container["ports"]}
        assert ports["health"] == int(settings["LANES_HEALTH_PORT"])
        assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "health"}
        assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "health"}
        assert container["resources"]["requests"]["memory"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        secrets = [e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e]
        assert "lanes-database" in secrets
        assert f"lanes-{domain}" in secrets

        budgets = [p for p in of_kind(docs, "PodDisruptionBudget") if domain_of(p) == domain]
        assert len(budgets) == 1
        selector = budgets[0]["spec"]["selector"]["matchLabels"]
        assert selector.items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
        assert selector["lanes.dev/domain"] == domain, "a budget must not span domains"


@pytest.mark.parametrize("overlay", sorted(EXPECTED_OVERLAYS))
def test_keda_scales_each_domain_on_its_own_queue(rendered: dict[str, str], overlay: str) -> None:
    docs = docs_of(rendered[overlay])
    deployments = {d["metadata"]["name"]: d for d in of_kind(docs, "Deployment")}
    auths = {t["metadata"]["name"] for t in of_kind(docs, "TriggerAuthentication")}
    scaled = of_kind(docs, "ScaledObject")
    assert len(scaled) == len(deployments)
    for obj in scaled:
        assert obj["apiVersion"] == "keda.sh/v1alpha1"
        spec = obj["spec"]
        target = deployments.get(spec["scaleTargetRef"]["name"])
        assert target is not None, f"{obj['metadata']['name']} scales nothing that is deployed"
        domain = domain_of(obj)
        assert domain_of(target) == domain
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        (trigger,) = spec["triggers"]
        assert trigger["type"] == "temporal"
        meta = trigger["metadata"]
        # KEDA's trigger metadata is a map of strings: a bare number fails admission.
        assert all(isinstance(v, str) for v in meta.values()), meta
        assert meta["taskQueue"] == TaskQueue(domain).value
        assert int(meta["targetQueueSize"]) > 0
        settings = settings_of(docs, target)
        assert meta["endpoint"] == settings["TEMPORAL_ADDRESS"]
        assert meta["namespace"] == settings["TEMPORAL_NAMESPACE"]
        if settings.get("TEMPORAL_TLS") == "true":
            assert trigger["authenticationRef"]["name"] in auths, "KEDA needs the credentials too"


@pytest.mark.parametrize("overlay", sorted(EXPECTED_OVERLAYS))
def test_migrations_run_before_rollout(rendered: dict[str, str], overlay: str) -> None:
    docs = docs_of(rendered[overlay])
    jobs = of_kind(docs, "Job")
    assert {domain_of(j) for j in jobs} == {domain_of(d) for d in of_kind(docs, "Deployment")}
    for job in jobs:
        assert job["metadata"]["annotations"]["argocd.argoproj.io/hook"] == "PreSync"
        pod = job["spec"]["template"]["spec"]
        assert pod["restartPolicy"] == "Never"
        container = pod["containers"][0]
        assert container["image"].rsplit(":", 1)[0].endswith("/lanes-migrate")
        assert {"secretRef": {"name": "lanes-database"}} in container["envFrom"]


@pytest.mark.parametrize("overlay", sorted(EXPECTED_OVERLAYS))
def test_no_secret_is_baked_into_the_manifests(rendered: dict[str, str], overlay: str) -> None:
    docs = docs_of(rendered[overlay])
    assert not of_kind(docs, "Secret"), "Secrets are created outside git (docs/deploy.md)"
    for config in of_kind(docs, "ConfigMap"):
        leaked = {k for k in config["data"] if re.search(r"API_KEY|PASSWORD|DATABASE_URL", k)}
        assert not leaked, f"{config['metadata']['name']} carries secrets: {leaked}"


def test_production_reaches_temporal_cloud_over_mtls(rendered: dict[str, str]) -> None:
    docs = docs_of(rendered["production"])
    assert {d["metadata"].get("namespace") for d in docs} == {"lanes"}
    for deployment in of_kind(docs, "Deployment"):
        settings = settings_of(docs, deployment)
        assert settings["TEMPORAL_ADDRESS"].endswith(".tmprl.cloud:7233")
        assert settings["TEMPORAL_TLS"] == "true"
        container = deployment["spec"]["template"]["spec"]["containers"][0]
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        for key in ("TEMPORAL_TLS_CLIENT_CERT_PATH", "TEMPORAL_TLS_CLIENT_KEY_PATH"):
            directory = str(Path(settings[key]).parent)
            assert directory in mounts, f"{key} points outside every mounted volume"
        volumes = {v["name"]: v for v in deployment["spec"]["template"]["spec"]["volumes"]}
        secret = volumes[mounts["/etc/temporal/tls"]]["secret"]["secretName"]
        auth = of_kind(docs, "TriggerAuthentication")[0]
        assert {r["name"] for r in auth["spec"]["secretTargetRef"]} == {secret}


def test_api_key_variant_gives_worker_and_scaler_the_key(rendered: dict[str, str]) -> None:
    docs = docs_of(rendered["examples/sync-cloud-api-key"])
    (deployment,) = of_kind(docs, "Deployment")
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    secrets = {e["secretRef"]["name"] for e in container["envFrom"] if "secretRef" in e}
    (auth,) = of_kind(docs, "TriggerAuthentication")
    (ref,) = auth["spec"]["secretTargetRef"]
    assert ref["parameter"] == "apiKey"
    assert ref["key"] == "TEMPORAL_API_KEY"
    assert ref["name"] in secrets


def test_credential_files_stay_out_of_git() -> None:
    repo = Path(__file__).resolve().parents[2]
    secrets = repo / "deploy" / "k8s" / "secrets"
    examples = sorted(secrets.glob("*.env.example"))
    assert examples
    for example in examples:
        real = example.with_suffix("")  # lanes-database.env.example -> lanes-database.env
        ignored = subprocess.run(
            ["git", "check-ignore", "-q", str(real.relative_to(repo))], cwd=repo, timeout=30
        )
        assert ignored.returncode == 0, f"{real.name} could be committed with real credentials"
        kept = subprocess.run(
            ["git", "check-ignore", "-q", str(example.relative_to(repo))], cwd=repo, timeout=30
        )
        assert kept.returncode == 1, f"{example.name} is the template and must be committed"
