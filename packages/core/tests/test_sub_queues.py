"""Sub-queues of a domain: an activity on a queue of its own (``<domain>.<name>``), polled by the
domain's worker beside its main queue, with a rate limit of its own that the server applies."""

import asyncio
import textwrap
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio import activity
from temporalio.client import Client

from core import activities, domains
from core.cli import doctor
from core.dev.testing import running_worker
from core.dispatch import dispatch
from core.domains import Domain, DomainError
from core.ratelimit import RateLimit
from core.settings import settings
from core.worker import serve


@pytest.fixture
def scratch_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """Activities declared in a test leave the process's registry when it ends."""
    monkeypatch.setattr(activities, "_REGISTRY", dict(activities._REGISTRY))


@pytest.fixture
def no_schedule_sync(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("LANES_SYNC_SCHEDULES", "false")
    settings.cache_clear()
    yield
    settings.cache_clear()


def test_a_rate_limit_is_checked_where_it_is_declared(scratch_registry: None) -> None:
    async def slow() -> None: ...

    with pytest.raises(ValueError, match=r"activity 'lanes_test\.a'.*'5/d' is not a rate limit"):
        activities.defn(name="lanes_test.a", queue="q.slow", rate_limit="5/d")(slow)
    with pytest.raises(ValueError, match=r"local activity .* cannot limit its rate"):
        activities.defn(name="lanes_test.b", queue="q.slow", rate_limit="5/s", local=True)(slow)
    config = activities.defn(name="lanes_test.c", queue="q.slow", rate_limit="1200/m")(slow)
    assert activities.registered()["lanes_test.c"].rate_limit == RateLimit(1200, 60.0)
    assert config is not None


def domain_package(
    root: Path, monkeypatch: pytest.MonkeyPatch, domain: str, activities_source: str
) -> str:
    """An installed-looking domain ``domain`` whose activities module is ``activities_source``."""
    package = f"lanes_pkg_{uuid.uuid4().hex[:8]}"
    (root / package / "activities").mkdir(parents=True)
    (root / package / "__init__.py").write_text("")
    (root / package / "workflows.py").write_text("__all__: list[str] = []\n")
    (root / package / "activities" / "__init__.py").write_text(
        "from core import activities\n\n" + textwrap.dedent(activities_source)
    )
    monkeypatch.syspath_prepend(str(root))
    monkeypatch.setattr(domains, "installed", lambda: {domain: package})
    return package


def test_a_domain_collects_its_sub_queues_and_their_limits(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, scratch_registry: None
) -> None:
    domain_package(
        tmp_path,
        monkeypatch,
        "billing",
        """
        @activities.defn(name="billing.invoice", queue="billing")
        async def invoice() -> None: ...

        @activities.defn(name="billing.charge", queue="billing.psp", rate_limit="100/m")
        async def charge() -> None: ...

        @activities.defn(name="billing.refund", queue="billing.psp")
        async def refund() -> None: ...

        @activities.defn(name="billing.export", queue="billing.bulk")
        async def export() -> None: ...
        """,
    )
    loaded = domains.load("billing")
    assert loaded.queues == ("billing", "billing.bulk", "billing.psp")
    assert dict(loaded.rate_limits) == {"billing.psp": RateLimit(100, 60.0)}


@pytest.mark.parametrize(
    ("source", "message"),
    [
        (
            """
            @activities.defn(name="shop.pay", queue="shop", rate_limit="5/s")
            async def pay() -> None: ...
            """,
            r"would limit every job of the domain; give it a queue of its own "
            r"\(queue='shop\.pay'\)",
        ),
        (
            """
            @activities.defn(name="shop.a", queue="shop.psp", rate_limit="5/s")
            async def a() -> None: ...

            @activities.defn(name="shop.b", queue="shop.psp", rate_limit="10/s")
            async def b() -> None: ...
            """,
            r"queue 'shop\.psp' has two rate limits: '5/s' from activity 'shop\.a' and '10/s'",
        ),
        (
            """
            @activities.defn(name="shop.c", queue="shopping.c")
            async def c() -> None: ...
            """,
            r"declares queue 'shopping\.c', but domain 'shop' serves queue 'shop' and its "
            r"sub-queues \('shop\.<name>'\)",
        ),
    ],
)
def test_what_a_domain_refuses(
    source: str,
    message: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scratch_registry: None,
) -> None:
    domain_package(tmp_path, monkeypatch, "shop", source)
    with pytest.raises(DomainError, match=message):
        domains.load("shop")


async def test_a_sub_queue_is_served_beside_the_main_queue_under_its_own_limit(
    temporal_client: Client, task_queue: str, scratch_registry: None, no_schedule_sync: None
) -> None:
    sub = f"{task_queue}.psp"
    ran: dict[str, list[tuple[float, str]]] = {"sub": [], "main": []}

    @activities.defn(name=f"{task_queue}.charge", queue=sub, rate_limit="10/s")
    async def charge() -> None:
        ran["sub"].append((time.monotonic(), activity.info().task_queue))

    @activities.defn(name=f"{task_queue}.invoice", queue=task_queue)
    async def invoice() -> None:
        ran["main"].append((time.monotonic(), activity.info().task_queue))

    domain = Domain(
        name="lanes-test",
        package="",
        task_queue=task_queue,
        activities=(
            activities.registered()[f"{task_queue}.charge"],
            activities.registered()[f"{task_queue}.invoice"],
        ),
    )
    # Both follow from the activities' declarations.
    assert domain.queues == (task_queue, sub)
    assert domain.rate_limits == {sub: RateLimit(10, 1.0)}
    ready, stop = asyncio.Event(), asyncio.Event()
    served: list[str] = []

    def on_ready(state: object) -> None:
        served.extend(state.queues)  # type: ignore[attr-defined]
        ready.set()

    task = asyncio.create_task(
        serve(
            [domain],
            client=temporal_client,
            stop=stop,
            install_signal_handlers=False,
            health=False,
            on_ready=on_ready,
        )
    )
    try:
        await asyncio.wait_for(ready.wait(), 15)
        assert served == [task_queue, sub]
        # Dispatched by function: the registry routes each to its queue.
        jobs = [await dispatch(charge, client=temporal_client) for _ in range(16)]
        jobs += [await dispatch(invoice, client=temporal_client) for _ in range(16)]
        await asyncio.wait_for(asyncio.gather(*(j.result() for j in jobs)), 60)
    finally:
        stop.set()
        await asyncio.wait_for(task, 30)
    assert {q for _, q in ran["sub"]} == {sub} and {q for _, q in ran["main"]} == {task_queue}
    sub_times = sorted(t for t, _ in ran["sub"])
    # 10/s becomes 4.1 starts/s on the server: after its burst of 5, the other 11 take ~2.7 s.
    assert sub_times[-1] - sub_times[0] >= 2.0, sub_times[-1] - sub_times[0]
    assert max(sum(1 for t in sub_times if s <= t <= s + 1.0) for s in sub_times) <= 10
    # The main queue is not limited: its 16 jobs, dispatched after the sub-queue's, finish first.
    assert max(t for t, _ in ran["main"]) < sub_times[-1]


async def test_doctor_checks_each_domains_sub_queues(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scratch_registry: None,
    temporal_client: Client,
) -> None:
    name = f"dr{uuid.uuid4().hex[:6]}"
    sub = f"{name}.psp"
    package = domain_package(
        tmp_path,
        monkeypatch,
        name,
        f"""
        @activities.defn(name="{name}.charge", queue="{sub}", rate_limit="100/m")
        async def charge() -> None: ...
        """,
    )
    broken = {name: package, "broken": f"lanes_missing_{uuid.uuid4().hex[:8]}"}
    monkeypatch.setattr(domains, "installed", lambda: broken)

    queues, failed = doctor._queues_to_check(("extra",))
    # The main queues, each sub-queue with the domain whose worker polls it, then --queue.
    assert queues == {"broken": None, name: None, sub: name, "extra": None}
    assert [(v.check, v.status) for v in failed] == [("domain broken", "fail")]
    assert "cannot be loaded" in failed[0].detail
    assert "ModuleNotFoundError" in failed[0].detail

    # Nobody polls the sub-queue: the verdict names the worker that should.
    idle = await doctor._queue(temporal_client, sub, sub_queue_of=name)
    assert idle.status == "fail", idle
    assert f"sub-queue of {name}" in idle.detail and f"`{name}-worker`" in idle.detail

    @activity.defn(name=f"{name}.charge")
    async def charge() -> None: ...

    # A sub-queue runs activities only: its missing workflow pollers are not a warning.
    async with running_worker(temporal_client, task_queue=sub, activities=[charge]):
        deadline = time.monotonic() + 10
        verdict = await doctor._queue(temporal_client, sub, sub_queue_of=name)
        while verdict.status != "ok" and time.monotonic() < deadline:
            await asyncio.sleep(0.2)
            verdict = await doctor._queue(temporal_client, sub, sub_queue_of=name)
    assert verdict.status == "ok", verdict
    assert verdict.detail.startswith(f"sub-queue of {name}, 1 activity pollers"), verdict


async def test_running_worker_polls_a_domains_sub_queues_too(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    scratch_registry: None,
    temporal_client: Client,
    task_queue: str,
) -> None:
    name = f"rw{uuid.uuid4().hex[:6]}"
    domain_package(
        tmp_path,
        monkeypatch,
        name,
        f"""
        @activities.defn(name="{name}.charge", queue="{name}.psp", rate_limit="100/m")
        async def charge() -> str:
            return "charged"
        """,
    )
    async with running_worker(temporal_client, name, task_queue=task_queue):
        # Dispatched by name: the registry sends it to the sub-queue, which the helper polls.
        job = await dispatch(f"{name}.charge", client=temporal_client)
        assert job.task_queue == f"{name}.psp"
        assert await asyncio.wait_for(job.result(), 30) == "charged"
