"""`lanes check` on whole domains: workflow files, exports, schedules — and on this repository."""

import asyncio
import subprocess
import sys
import textwrap
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from temporalio.client import Client, Schedule, ScheduleActionStartWorkflow, ScheduleSpec
from temporalio.service import RPCError

from core import activities
from core.checks import check_activities, check_schedules, check_workflow_file
from core.domains import Domain
from core.schedules._cron import cron_problem

LANES = str(Path(sys.executable).with_name("lanes"))
ROOT = Path(__file__).resolve().parents[3]

WORKFLOW = """
from temporalio import workflow


@workflow.defn
class {name}:
    @workflow.run
    async def run(self) -> None:
        return None
"""


def test_lanes_check_passes_on_this_repository() -> None:
    done = subprocess.run([LANES, "check"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "lanes check: no problems" in done.stdout


def test_lanes_check_fails_on_a_finding_and_names_file_line_rule(tmp_path: Path) -> None:
    # A domain package with a bad workflow file, put on the path of a `lanes check` process
    # through a `lanes.domains` entry point of a throwaway distribution.
    package = f"chk{uuid.uuid4().hex[:6]}"
    src = tmp_path / package
    (src / "workflows").mkdir(parents=True)
    (src / "__init__.py").write_text("")
    (src / "workflows" / "__init__.py").write_text(
        f"from {package}.workflows.tick import TickWorkflow\n__all__ = ['TickWorkflow']\n"
    )
    (src / "workflows" / "tick.py").write_text(
        WORKFLOW.format(name="TickWorkflow").replace(
            "return None", "import random\n        return None"
        )
    )
    dist = tmp_path / f"{package}-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[lanes.domains]\n{package} = {package}\n")
    env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}
    done = subprocess.run(
        [LANES, "check", "-q"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1, done.stdout + done.stderr
    assert f"{package}/workflows/tick.py:9: random: `import random` in workflow code: use " in (
        done.stdout
    )
    assert "lanes: error: 1 problem found" in done.stderr


def test_one_workflow_per_file_named_after_it(tmp_path: Path) -> None:
    good = tmp_path / "nightly_report.py"
    good.write_text(WORKFLOW.format(name="NightlyReportWorkflow"))
    assert check_workflow_file(good) == []

    misnamed = tmp_path / "report.py"
    misnamed.write_text(WORKFLOW.format(name="NightlyReportWorkflow"))
    (finding,) = check_workflow_file(misnamed)
    assert finding.rule == "workflow-file"
    assert "name the file after the class (nightly_report.py) or the class ReportWorkflow" in (
        finding.message
    )

    two = tmp_path / "pair.py"
    two.write_text(WORKFLOW.format(name="PairWorkflow") + WORKFLOW.format(name="OtherWorkflow"))
    (finding,) = check_workflow_file(two)
    assert "OtherWorkflow is the second workflow in pair.py" in finding.message
    assert "move it to other.py" in finding.message

    empty = tmp_path / "helpers.py"
    empty.write_text("X = 1\n")
    (finding,) = check_workflow_file(empty)
    assert "no @workflow.defn class in helpers.py" in finding.message
    private = tmp_path / "_helpers.py"
    private.write_text("X = 1\n")
    assert check_workflow_file(private) == []


def test_a_workflow_the_domain_does_not_export_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "nightly_report.py"
    path.write_text(WORKFLOW.format(name="NightlyReportWorkflow"))
    domain = Domain(name="demo", package="demo", task_queue="demo", workflows=())
    (finding,) = check_workflow_file(path, domain)
    assert finding.rule == "workflow-export"
    assert "NightlyReportWorkflow is not exported from demo.workflows" in finding.message


def test_schedules_must_load_and_target_what_their_queue_serves(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    package = f"sch{uuid.uuid4().hex[:6]}"
    (tmp_path / package).mkdir()
    (tmp_path / package / "__init__.py").write_text("")
    (tmp_path / package / "nightly.py").write_text(WORKFLOW.format(name="NightlyWorkflow"))
    (tmp_path / package / "schedules.py").write_text(
        textwrap.dedent(
            f"""
            from datetime import timedelta
            from core.schedules import Schedule
            from {package}.nightly import NightlyWorkflow

            SCHEDULES = [
                Schedule(
                    id="{package}.nightly",
                    target=NightlyWorkflow,
                    task_queue="{package}",
                    every=timedelta(hours=1),
                ),
                Schedule(
                    id="{package}.elsewhere",
                    target=NightlyWorkflow,
                    task_queue="nowhere",
                    every=timedelta(hours=1),
                ),
            ]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    domain = Domain(name=package, package=package, task_queue=package)
    findings = check_schedules(domain, {package: domain})
    assert [(f.rule, f.line) for f in findings] == [("schedule", 8), ("schedule", 14)]
    assert "starts workflow NightlyWorkflow, which the" in findings[0].message
    assert "runs on queue 'nowhere', which no installed domain serves" in findings[1].message

    (tmp_path / package / "schedules.py").write_text(
        "from core.schedules import Schedule\n"
        f"SCHEDULES = [Schedule(id='{package}.bad', target='lanes.ping', task_queue='q',\n"
        "    cron='0 9 * * someday')]\n"
    )
    for name in [m for m in sys.modules if m.startswith(package)]:
        del sys.modules[name]
    (finding,) = check_schedules(domain, {package: domain})
    assert finding.rule == "schedule" and finding.line == 2
    assert "bad cron string '0 9 * * someday'" in finding.message


CRON_STRINGS = [
    "30 2 * * MON-FRI",
    "0 9 * * MONDAY",
    "0 9 * * mo-fr",
    "0 0 1 january *",
    "0 0 1 sept *",
    "0 0 * * 7",
    "5/15 * * * *",
    "0 12 * * sun,wed",
    "0 0 1 1 * 2030",
    "0 0 0 1 1 * 2030",
    "@daily",
    "0 0 1 ja *",
    "0 0 * * m",
    "61 * * * *",
    "0 0 L * *",
    "0 0 ? * *",
    "0 0 * * fri-mon",
    "*/0 * * * *",
    "1-2-3 * * * *",
    "0 0 * *",
    "0 0 1 1 * 1999",
    "@fortnightly",
]


async def test_cron_strings_are_judged_as_the_real_server_judges_them(
    temporal_client: Client,
) -> None:
    async def server_accepts(cron: str) -> bool:
        schedule_id = f"cron-check-{uuid.uuid4().hex[:8]}"
        try:
            handle = await temporal_client.create_schedule(
                schedule_id,
                Schedule(
                    action=ScheduleActionStartWorkflow(
                        "NoSuchWorkflow", id=schedule_id, task_queue="cron-check"
                    ),
                    spec=ScheduleSpec(cron_expressions=[cron]),
                ),
                trigger_immediately=False,
            )
        except RPCError:
            return False
        await handle.delete()
        return True

    verdicts = await asyncio.gather(*(server_accepts(c) for c in CRON_STRINGS))
    ours = [cron_problem(c) is None for c in CRON_STRINGS]
    mismatches = [
        (cron, server, cron_problem(cron))
        for cron, server, mine in zip(CRON_STRINGS, verdicts, ours, strict=True)
        if server != mine
    ]
    assert mismatches == []
    assert sum(verdicts) == 11  # both kinds are in the table


def test_every_is_refused_in_favour_of_a_timedelta() -> None:
    # The server takes `@every 5m`; a declaration says every=timedelta(minutes=5).
    assert cron_problem("@every 5m") == "use every=timedelta(...) instead of @every"
    assert timedelta(minutes=5)  # the replacement the message names


def test_an_activity_input_without_a_type_is_reported() -> None:
    async def untyped(input) -> None: ...

    async def typed(input: int) -> None: ...

    configs = [
        activities.config_of(activities.defn(name=f"check_{f.__name__}", queue="check-test")(f))
        for f in (untyped, typed)
    ]
    domain = Domain(
        name="demo", package="demo", task_queue="demo", activities=tuple(c for c in configs if c)
    )
    (finding,) = check_activities(domain)
    assert finding.rule == "activity" and finding.path.endswith("test_check_domains.py")
    assert "activity 'check_untyped': its input has no type annotation" in finding.message
