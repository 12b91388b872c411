"""deploy/Dockerfile: lints clean with hadolint, and is built the way a worker must run."""

from __future__ import annotations

import json
import re
import tomllib
from pathlib import Path
from typing import Any

from packaging.specifiers import SpecifierSet

REPO = Path(__file__).resolve().parents[2]
DOCKERFILE = REPO / "deploy" / "Dockerfile"


def test_dockerfile_passes_hadolint(run_tool: Any) -> None:
    result = run_tool(["hadolint", "--no-color", str(DOCKERFILE)])
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_rejects_a_shell_form_entrypoint(run_tool: Any, tmp_path: Path) -> None:
    # Shell form would make /bin/sh PID 1, and SIGTERM would never reach the worker's drain.
    text = DOCKERFILE.read_text()
    exec_form = 'ENTRYPOINT ["lanes-domain-worker"]'
    shell_form = text.replace(exec_form, "ENTRYPOINT lanes-domain-worker")
    assert shell_form != text
    broken = tmp_path / "Dockerfile"
    broken.write_text(shell_form)
    result = run_tool(["hadolint", "--no-color", str(broken)])
    assert result.returncode != 0
    assert "DL3025" in result.stdout


def test_worker_is_the_default_stage_and_runs_unprivileged_in_exec_form(dockerfile: Any) -> None:
    all_stages = dockerfile.stages
    last_stage = list(all_stages)[-1]
    assert last_stage == "worker", "a plain `docker build` must produce the worker image"
    chain = all_stages["runtime"] + all_stages["worker"]
    users = [args for word, args in chain if word == "USER"]
    assert users, "runs as a named user"
    assert not users[-1].startswith(("0", "root")), "runs as a non-root user"
    (entrypoint,) = [args for word, args in all_stages["worker"] if word == "ENTRYPOINT"]
    assert json.loads(entrypoint) == ["lanes-domain-worker"]
    (healthcheck,) = [args for word, args in all_stages["worker"] if word == "HEALTHCHECK"]
    assert "/readyz" in healthcheck
    assert "urllib.request" in healthcheck
    link = [a for w, a in all_stages["build"] if w == "RUN" and "lanes-domain-worker" in a]
    assert link
    assert '"/app/.venv/bin/${DOMAIN}-worker"' in link[0]
    (migrate,) = [args for word, args in all_stages["migrate"] if word == "ENTRYPOINT"]
    assert json.loads(migrate) == ["lanes", "db", "upgrade"]


def test_images_are_pinned_and_uv_satisfies_the_workspace(dockerfile: Any) -> None:
    args = dockerfile.args
    uv_image, _, uv_version = args["UV_IMAGE"].rpartition(":")
    assert uv_image == "ghcr.io/astral-sh/uv"
    assert re.fullmatch(r"\d+\.\d+\.\d+", uv_version), "pin an exact uv release"
    workspace = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert uv_version in SpecifierSet(workspace["tool"]["uv"]["required-version"])
    assert re.fullmatch(r"python:3\.11\.\d+-slim-\w+", args["PYTHON_IMAGE"])


def test_sync_steps_install_one_domain_without_dev_tools(dockerfile: Any) -> None:
    build = dockerfile.stages["build"]
    syncs = [a for w, a in build if w == "RUN" and "uv sync" in a]
    assert syncs
    for command in syncs:
        assert "--frozen" in command
        assert "--no-dev" in command
        assert '--package "lanes-${DOMAIN}"' in command
        assert "--mount=type=cache,target=/root/.cache/uv" in command
    env = " ".join(a for w, a in dockerfile.stages["build-base"] if w == "ENV")
    assert "UV_COMPILE_BYTECODE=1" in env


def test_dockerignore_sends_only_what_the_image_installs() -> None:
    patterns = (REPO / ".dockerignore").read_text().split("\n")
    patterns = [p.strip() for p in patterns if p.strip() and not p.startswith("#")]
    assert patterns[0] == "*", "deny by default: no .venv, .git or local secrets in the context"
    allowed = {p[1:] for p in patterns if p.startswith("!")}
    assert allowed == {
        "pyproject.toml",
        "uv.lock",
        "packages/*/pyproject.toml",
        "packages/*/src/**",
    }
