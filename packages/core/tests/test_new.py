"""`lanes new` in a copy of the workspace: a new domain, activity, workflow and schedule pass
`lanes check`, ruff, mypy and their own tests as written, and `lanes dev` serves the new queue."""

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from core.dev.server import free_port
from core.scaffold import ScaffoldError, new_domain

ROOT = Path(__file__).resolve().parents[3]


def copy_workspace(target: Path) -> None:
    """What `uv sync` and the domains need: the root files and every member's pyproject + src."""
    target.mkdir()
    for name in ("pyproject.toml", "uv.lock", "README.md"):
        shutil.copy(ROOT / name, target / name)
    for member in sorted((ROOT / "packages").iterdir()):
        if (member / "pyproject.toml").exists():
            (target / "packages" / member.name).mkdir(parents=True)
            shutil.copy(member / "pyproject.toml", target / "packages" / member.name)
            shutil.copytree(
                member / "src",
                target / "packages" / member.name / "src",
                ignore=shutil.ignore_patterns("__pycache__"),
            )


def test_a_new_domain_with_an_activity_workflow_and_schedules_passes_the_gate(
    tmp_path: Path,
) -> None:
    uv = os.environ.get("UV") or shutil.which("uv")
    assert uv, "uv runs this suite (`uv run pytest`), so UV or PATH names it"
    workspace = tmp_path / "ws"
    copy_workspace(workspace)
    # A fresh environment of the copy. Not offline: `uv lock` re-resolves for every Python the
    # workspace supports, and a machine whose cache only ever saw `uv sync` lacks the metadata of
    # other platforms' wheels (seen: "aiohttp was not found in the cache" on a fresh machine).
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT", "TEMPORAL_ADDRESS", "PYTHONPATH")
        and not k.startswith("LANES_")
        and k != "UV_OFFLINE"
    } | {"LANES_HEALTH_PORT": "0"}

    def run(*args: str, cwd: Path = workspace) -> str:
        done = subprocess.run(
            [uv, *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=240
        )
        assert done.returncode == 0, f"{args}: {done.stdout}\n{done.stderr}"
        return done.stdout

    run("sync", "--quiet")
    # From a subfolder: the workspace root is found.
    out = run("run", "lanes", "new", "domain", "demo", cwd=workspace / "packages")
    assert "wrote packages/demo/src/demo/worker.py" in out and "ran `uv lock`" in out
    assert '"lanes-demo"' in (workspace / "pyproject.toml").read_text()
    assert "lanes-demo" in (workspace / "uv.lock").read_text()
    run("sync", "--quiet")
    run("run", "lanes", "new", "activity", "demo", "greet")
    run("run", "lanes", "new", "workflow", "demo", "nightly_report")
    run(
        "run", "lanes", "new", "schedule", "demo", "nightly", "--target",
        "NightlyReportWorkflow", "--every", "3600", "--input", '{"note": "hi"}',
    )  # fmt: skip
    run(
        "run", "lanes", "new", "schedule", "demo", "greet_weekdays", "--target", "greet",
        "--cron", "0 9 * * mo-fr", "--input", '{"subject": "team"}',
    )  # fmt: skip

    assert "lanes check: no problems" in run("run", "lanes", "check")
    run("run", "ruff", "check", "packages/demo")
    run("run", "ruff", "format", "--check", "packages/demo")
    run("run", "mypy", "packages/demo/src")
    assert "3 passed" in run("run", "pytest", "packages/demo/tests", "-q", "-p", "no:cacheprovider")

    # `lanes dev` serves the new queue with no edit in core.
    log = tmp_path / "dev.log"
    with log.open("wb") as out_file:
        dev = subprocess.Popen(
            [uv, "run", "lanes", "dev", "--port", str(free_port()), "--ui-port", str(free_port())],
            cwd=workspace,
            env=env,
            stdout=out_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            deadline = time.monotonic() + 120
            while "workers " not in log.read_text():
                assert dev.poll() is None and time.monotonic() < deadline, log.read_text()
                time.sleep(0.2)
            assert "demo" in log.read_text().split("workers ")[1].splitlines()[0]
            os.killpg(dev.pid, signal.SIGINT)
            assert dev.wait(60) == 0, log.read_text()
        finally:
            if dev.poll() is None:
                os.killpg(dev.pid, signal.SIGKILL)
                dev.wait()


def test_a_taken_or_invalid_name_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    (tmp_path / "packages").mkdir()
    with pytest.raises(ScaffoldError, match="the import package 'email' is taken"):
        new_domain(tmp_path, "email")
    with pytest.raises(ScaffoldError, match="must be a lower-case Python identifier"):
        new_domain(tmp_path, "Billing-API")
    assert list((tmp_path / "packages").iterdir()) == []
