"""A schedule declaration is checked before anything reaches the server, with a clear message."""

from __future__ import annotations

import sys
import textwrap
from datetime import timedelta
from pathlib import Path

import pydantic
import pytest
from temporalio import workflow

from core import activities
from core.schedules import Schedule, ScheduleError, load_schedules, resolve_all


class ReportInput(pydantic.BaseModel):
    account: str
    days: int = 7


@activities.defn(name="test_schedules.report", queue="test-schedules-decl")
async def report(input: ReportInput) -> int:
    return input.days


@workflow.defn(name="TestSchedulesRollup")
class RollupWorkflow:
    @workflow.run
    async def run(self, input: ReportInput) -> int:
        return input.days


def test_activity_schedule_resolves_to_single_activity_workflow() -> None:
    resolved = Schedule(
        id="decl.report",
        target="test_schedules.report",
        input={"account": "acme"},
        cron="30 2 * * MON-FRI",
        timezone="Europe/Berlin",
    ).resolve()

    assert resolved.workflow == "SingleActivityWorkflow"
    assert resolved.task_queue == "test-schedules-decl"
    # The input is validated and stored with its defaults, as plain JSON; so is how the runs go
    # (the registered config, resolved here), so whichever worker runs them needs no registry.
    assert resolved.args == (
        {
            "activity": "test_schedules.report",
            "input": {"account": "acme", "days": 7},
            "options": {
                "task_queue": "test-schedules-decl",
                "retry_policy": {
                    "initial_interval": "PT1M",
                    "backoff_coefficient": 2.0,
                    "maximum_interval": "PT10M",
                    "maximum_attempts": 4,
                },
                "start_to_close_timeout": "PT5M",
                "local": False,
            },
        },
    )
    assert resolved.spec_text == "cron 30 2 * * MON-FRI (Europe/Berlin)"


def test_function_target_and_model_input_equal_the_name_and_json_form() -> None:
    by_name = Schedule(
        id="a", target="test_schedules.report", input={"account": "x"}, every=timedelta(hours=1)
    )
    by_function = Schedule(
        id="a", target=report, input=ReportInput(account="x"), every=timedelta(hours=1)
    )

    assert by_name.resolve().fingerprint() == by_function.resolve().fingerprint()


def test_fingerprint_changes_with_anything_that_defines_the_schedule() -> None:
    base = dict(
        id="a", target="test_schedules.report", input={"account": "x"}, every=timedelta(hours=1)
    )
    fingerprints = {
        Schedule(**base).resolve().fingerprint(),  # type: ignore[arg-type]
        Schedule(**{**base, "every": timedelta(hours=2)}).resolve().fingerprint(),  # type: ignore[arg-type]
        Schedule(**{**base, "input": {"account": "y"}}).resolve().fingerprint(),  # type: ignore[arg-type]
        Schedule(**base, paused=True).resolve().fingerprint(),  # type: ignore[arg-type]
        Schedule(**base, overlap="allow_all").resolve().fingerprint(),  # type: ignore[arg-type]
        Schedule(**base, jitter=timedelta(seconds=5)).resolve().fingerprint(),  # type: ignore[arg-type]
        Schedule(**base, description="new words").resolve().fingerprint(),  # type: ignore[arg-type]
    }
    assert len(fingerprints) == 7


def test_workflow_class_target_uses_its_input_model() -> None:
    resolved = Schedule(
        id="decl.rollup",
        target=RollupWorkflow,
        input={"account": "a"},
        every=timedelta(days=1),
        task_queue="rollups",
    ).resolve()

    assert resolved.workflow == "TestSchedulesRollup"
    assert resolved.args == ({"account": "a", "days": 7},)
    assert resolved.task_queue == "rollups"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(every=timedelta(minutes=1), cron="* * * * *"), "give exactly one of every"),
        (dict(), "give exactly one of every"),
        (
            dict(cron="61 * * * *"),
            "bad cron string '61 * * * *': minute field '61': 61 is not in range 0-59",
        ),
        (dict(cron="0 0 * *"), "a cron string has 5 fields"),
        (dict(cron="0 0 L * *"), "day of month field 'L'"),
        (dict(cron="@every 5m"), "use every=timedelta"),
        (dict(cron="0 3 * * *", timezone="Mars/Olympus"), "unknown time zone 'Mars/Olympus'"),
        (dict(every=timedelta(milliseconds=10)), "every must be at least 1 second"),
        (
            dict(every=timedelta(minutes=1), jitter=timedelta(seconds=-1)),
            "jitter must not be negative",
        ),
        (
            dict(every=timedelta(minutes=1), catchup_window=timedelta(seconds=1)),
            "catchup_window must be at least",
        ),
        (
            dict(every=timedelta(minutes=1), overlap="sometimes"),
            "unknown overlap policy 'sometimes'",
        ),
    ],
)
def test_bad_shape_fails_when_declared(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(ScheduleError) as err:
        Schedule(id="decl.bad", target="test_schedules.report", **kwargs)  # type: ignore[arg-type]
    assert str(err.value).startswith("schedule 'decl.bad': ")
    assert message in str(err.value)


def test_target_that_is_not_an_activity_or_workflow_fails_when_declared() -> None:
    async def plain(x: int) -> int:
        return x

    with pytest.raises(
        ScheduleError,
        match=r"schedule 'decl.plain': target .*plain is not declared with @activities.defn",
    ):
        Schedule(id="decl.plain", target=plain, every=timedelta(minutes=1))
    with pytest.raises(ScheduleError, match=r"target ReportInput is not a @workflow\.defn class"):
        Schedule(id="decl.model", target=ReportInput, every=timedelta(minutes=1))


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            dict(target="no_such_activity"),
            "schedule 'decl.x': unknown activity 'no_such_activity'; registered here:",
        ),
        (dict(target="test_schedules.report"), "needs an input of type ReportInput"),
        (
            dict(target="test_schedules.report", input={"account": "a", "days": "many"}),
            "invalid input for activity 'test_schedules.report' (expected ReportInput): "
            "days: Input should be a valid integer",
        ),
        (dict(target="lanes.ping"), "activity 'lanes.ping' runs on every queue; pass task_queue="),
        (
            dict(target=RollupWorkflow, input={"days": 1}),
            "invalid input for workflow 'TestSchedulesRollup'",
        ),
        (
            dict(target=RollupWorkflow, input={"account": "a"}),
            "is not in a domain package; pass task_queue=",
        ),
    ],
)
def test_problems_that_need_the_registry_fail_when_the_list_is_loaded(
    kwargs: dict[str, object], message: str
) -> None:
    schedule = Schedule(id="decl.x", every=timedelta(minutes=1), **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ScheduleError) as err:
        resolve_all([schedule])
    assert message in str(err.value)


def test_duplicate_ids_in_one_list_fail() -> None:
    one = Schedule(id="decl.twice", target="lanes.ping", task_queue="q", every=timedelta(minutes=1))
    with pytest.raises(ScheduleError, match=r"schedule 'decl\.twice' is declared twice"):
        resolve_all([one, one])


def test_load_schedules_names_the_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    package = tmp_path / "decl_pkg"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "schedules.py").write_text(
        textwrap.dedent(
            """
            from datetime import timedelta
            from core.schedules import Schedule
            SCHEDULES = [Schedule(id="pkg.ping", target="lanes.ping", every=timedelta(minutes=1))]
            """
        )
    )
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "decl_pkg", raising=False)

    with pytest.raises(
        ScheduleError,
        match=r"^decl_pkg\.schedules: schedule 'pkg\.ping': activity 'lanes\.ping' runs on every",
    ):
        load_schedules("decl_pkg")


def test_a_typo_in_schedules_py_is_a_declaration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "typo_pkg").mkdir()
    (tmp_path / "typo_pkg" / "__init__.py").write_text("")
    (tmp_path / "typo_pkg" / "schedules.py").write_text(
        "from core.schedules import Schedule\n"
        "SCHEDULES = [Schedule(ids='x', target='lanes.ping')]\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))

    with pytest.raises(
        ScheduleError,
        match=r"^typo_pkg\.schedules failed to import: TypeError: .*unexpected keyword .*'ids'",
    ):
        load_schedules("typo_pkg")


def test_a_domain_without_schedules_module_declares_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "bare_pkg").mkdir()
    (tmp_path / "bare_pkg" / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(tmp_path))

    assert load_schedules("bare_pkg") == []


def test_operations_declares_a_heartbeat_every_minute_on_its_queue() -> None:
    [heartbeat] = [s for s in load_schedules("operations") if s.id == "operations.heartbeat"]
    resolved = heartbeat.resolve()

    assert resolved.id == "operations.heartbeat"
    [action] = resolved.args
    assert action["activity"] == "lanes.ping" and "input" not in action
    assert action["options"]["task_queue"] == "operations"
    assert action["options"]["start_to_close_timeout"] == "PT30S"  # lanes.ping's own
    assert resolved.task_queue == "operations"
    assert heartbeat.every == timedelta(minutes=1)
