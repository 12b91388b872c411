"""`lanes history export` and `lanes replay`: recorded histories against changed workflow code,
each replay in a fresh `lanes` process that loads the domains as a worker does."""

import asyncio
import json
import subprocess
import sys
import uuid
from pathlib import Path

import pytest
from temporalio.client import Client

from core.dev.testing import running_worker

LANES = str(Path(sys.executable).with_name("lanes"))
ROOT = Path(__file__).resolve().parents[3]

PROBE = """
from datetime import timedelta

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core import durable
    from core.ping import PingInput, ping


@workflow.defn
class ReplayProbeWorkflow:
    @workflow.run
    async def run(self) -> str:
{step}
        answer = await durable.run_activity(ping, PingInput(echo="one"))
        return answer.echo or ""
"""
ORIGINAL = "        pass"
BREAKING = "        await workflow.sleep(timedelta(seconds=1))"
PATCHED = """        if workflow.patched("nap-first"):
            await workflow.sleep(timedelta(seconds=1))"""


async def lanes(*args: str, env: dict[str, str]) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        LANES, *args, env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 120)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def test_a_breaking_change_fails_replay_and_a_patched_one_passes(
    temporal_client: Client,
    task_queue: str,
    lanes_env: dict[str, str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    module = f"replay_probe_{uuid.uuid4().hex[:8]}"
    source = tmp_path / f"{module}.py"
    source.write_text(PROBE.format(step=ORIGINAL))
    monkeypatch.syspath_prepend(str(tmp_path))
    probe = __import__(module).ReplayProbeWorkflow
    workflow_id = f"replay-probe-{uuid.uuid4().hex[:8]}"
    async with running_worker(temporal_client, task_queue=task_queue, workflows=[probe]):
        result = await temporal_client.execute_workflow(
            probe.run, id=workflow_id, task_queue=task_queue
        )
    assert result == "one"

    env = lanes_env | {"PYTHONPATH": str(tmp_path), "PYTHONDONTWRITEBYTECODE": "1"}
    recorded = tmp_path / "histories" / "probe.json"
    code, _, err = await lanes("history", "export", workflow_id, "-o", str(recorded), env=env)
    assert code == 0, err
    assert json.loads(recorded.read_text())["workflowId"] == workflow_id

    replay = ("replay", str(tmp_path / "histories"), "--include", module)
    code, out, err = await lanes(*replay, env=env)
    assert (code, out.strip()) == (0, "1 histories replay against today's code"), err

    source.write_text(PROBE.format(step=BREAKING))
    code, out, err = await lanes(*replay, env=env)
    assert code == 1
    assert f"probe.json: ReplayProbeWorkflow ({workflow_id}): [TMPRL1100] Nondeterminism" in err
    assert "HistoryEvent(id: 5, ActivityTaskScheduled)" in err  # the event it no longer matches
    assert "lanes: error: 1 of 1 histories no longer replay" in err

    source.write_text(PROBE.format(step=PATCHED))
    code, out, err = await lanes(*replay, env=env)
    assert code == 0, err


async def test_every_domains_recorded_histories_replay(lanes_env: dict[str, str]) -> None:
    folders = sorted(str(p) for p in ROOT.glob("packages/*/tests/histories") if p.is_dir())
    assert any(f.endswith("packages/sync/tests/histories") for f in folders)
    code, out, err = await lanes("replay", *folders, env=lanes_env)
    assert code == 0, err
    assert "histories replay against today's code" in out


async def test_a_file_that_is_not_a_history_is_named(
    lanes_env: dict[str, str], tmp_path: Path
) -> None:
    (tmp_path / "notes.json").write_text('{"hello": 1}')
    code, _, err = await lanes("replay", str(tmp_path), env=lanes_env)
    assert code == 1
    assert "notes.json: not a workflow history: no events" in err
