"""Every setting deploy/ hands a worker is one the worker reads, with a value it accepts.

``LanesSettings`` ignores unknown ``LANES_*`` names and the SDK ignores unknown ``TEMPORAL_*``
names, so a misspelt key in compose or a ConfigMap would silently fall back to a default (a
30-second drain becoming 30 minutes, a worker dialling localhost). Here the names are checked
against the real readers, and the Temporal settings are loaded by the SDK's own env config.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from temporalio.envconfig import ClientConfig

from analysis.settings import AnalysisSettings
from core.settings import LanesSettings
from mail.settings import MailSettings
from operations.settings import OperationsSettings
from sync.settings import SyncSettings

DEPLOY = Path(__file__).resolve().parents[1]

# Read by the SDK's environment config (temporalio's sdk-core envconfig.rs); names we use only.
SDK_ENV = {
    "TEMPORAL_ADDRESS",
    "TEMPORAL_NAMESPACE",
    "TEMPORAL_API_KEY",
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
}
# OpenTelemetry's standard SDK environment variables that deploy/ sets.
OTEL_ENV = {
    "OTEL_SERVICE_NAME",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_RESOURCE_ATTRIBUTES",
}
# Domains read LANES_* settings of their own; each must be a field of one of these.
DOMAIN_SETTINGS = (SyncSettings, AnalysisSettings, MailSettings, OperationsSettings)


def test_every_name_has_a_reader_and_every_value_parses(
    worker_settings: dict[str, dict[str, str]],
) -> None:
    readers = (LanesSettings, *DOMAIN_SETTINGS)
    fields = {
        reader: {f"LANES_{name.upper()}": name for name in reader.model_fields}
        for reader in readers
    }
    known = set().union(*(names.keys() for names in fields.values()))
    environments = worker_settings
    assert len(environments) >= 4 + 4
    for where, env in environments.items():
        unknown = {key for key in env if key not in known | SDK_ENV | OTEL_ENV}
        assert not unknown, f"{where}: nothing reads {sorted(unknown)} (misspelt?)"
        for reader, names in fields.items():
            values = {names[k]: v for k, v in env.items() if k in names}
            reader.model_validate(values)  # raises on a value the worker would reject


@pytest.mark.parametrize("overlay", ["production", "examples/sync-cloud-api-key"])
def test_the_sdk_reads_the_temporal_cloud_settings(
    rendered: dict[str, str], overlay: str, tmp_path: Path
) -> None:
    docs: list[dict[str, Any]] = [d for d in yaml.safe_load_all(rendered[overlay]) if d]
    settings = next(d["data"] for d in docs if d["kind"] == "ConfigMap")
    env = {k: v for k, v in settings.items() if k.startswith("TEMPORAL_")}
    # The mounted certificate files, stood in for by local ones with known content.
    for key, content in (("CERT", b"client-cert"), ("KEY", b"client-key")):
        name = f"TEMPORAL_TLS_CLIENT_{key}_PATH"
        if name in env:
            local = tmp_path / Path(env[name]).name
            local.write_bytes(content)
            env[name] = str(local)
    if overlay.endswith("api-key"):
        env["TEMPORAL_API_KEY"] = "from-the-secret"
    config = ClientConfig.load_client_connect_config(disable_file=True, override_env_vars=env)
    assert config["target_host"] == settings["TEMPORAL_ADDRESS"]
    assert config["namespace"] == settings["TEMPORAL_NAMESPACE"]
    tls = config["tls"]
    assert tls is not False, "Temporal Cloud is reached over TLS"
    if overlay.endswith("api-key"):
        assert config["api_key"] == "from-the-secret"
    else:
        assert not isinstance(tls, bool)
        assert tls.client_cert == b"client-cert"
        assert tls.client_private_key == b"client-key"
