"""The worker bootstrap behind every ``<domain>-worker`` script and ``lanes worker``.

One process serves one or more domains; each domain gets one Temporal ``Worker`` on its queue that
registers only that domain's workflows and activities, plus :class:`SingleActivityWorkflow`,
:class:`BatchWorkflow`, ``lanes.ping``, ``lanes.run_jobs`` and the unknown-activity guard. Around
the workers:

- **Failing workflows instead of hanging them.** ``pydantic.ValidationError`` is a workflow
  failure type: a start argument that does not validate fails the run at once instead of leaving
  it RUNNING with a retrying workflow task.
- **Graceful shutdown.** SIGTERM or SIGINT stops polling, lets in-flight activities finish for up
  to ``LANES_SHUTDOWN_TIMEOUT`` (the SDK's default is zero and it installs no signal handler),
  then cancels what is left and exits 0. A second SIGINT more than :data:`REPEAT_WINDOW` after
  the first exits at once (130); a repeated SIGTERM, or a SIGINT delivered twice, keeps draining
  (:func:`install_drain_signals`, which ``lanes dev`` uses too).
  The process ends with ``os._exit`` after the drain: the SDK's Rust core has been seen to abort
  the interpreter at exit (``PyGILState_Release``, exit 134) after a clean shutdown, which would
  turn a clean drain into a crash report and a restart loop.
- **Schedules.** Before polling starts, each domain's ``schedules.py`` is synced with the server
  (:mod:`core.schedules`); a failure is logged as an error and the workers still start.
- **Health.** ``/healthz``, ``/readyz`` and ``/metrics`` on ``LANES_HEALTH_PORT``; traces, log
  context and per-attempt metrics come from :mod:`core.telemetry`.
- **Limits.** Concurrency from ``LANES_MAX_CONCURRENT_*``.
- **Schema.** :func:`run` brings the embedded SQLite database to the head of the served domains'
  migrations, and refuses to start while a PostgreSQL schema is behind (the message says to run
  ``lanes db upgrade``); a domain without tables starts without a database
  (:func:`core.db.migrations.prepare_worker_schema`). Engines are disposed on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
import os
import signal
import socket
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from importlib.metadata import PackageNotFoundError, entry_points, version
from typing import Any, NoReturn

import pydantic
from temporalio.client import Client
from temporalio.worker import Worker
from temporalio.worker.workflow_sandbox import SandboxedWorkflowRunner, SandboxRestrictions

from core import _served, activities, domains, telemetry
from core.client import connect
from core.domains import Domain
from core.errors import STARTUP_ERRORS
from core.ping import ping
from core.run_jobs import run_jobs
from core.schedules import sync_domain_schedules
from core.settings import LanesSettings, settings
from core.worker._jobs_guard import JobGuardInterceptor, unknown_activity
from core.worker.health import HealthServer, HealthState, Response
from core.workflows import BatchWorkflow, SingleActivityWorkflow

__all__ = [
    "FORCED_EXIT_CALLBACKS",
    "PASSTHROUGH_MODULES",
    "REPEAT_WINDOW",
    "activity_name",
    "build_worker",
    "exit_process",
    "install_drain_signals",
    "run",
    "run_domain_worker",
    "serve",
]

log = logging.getLogger("lanes.worker")

# Side-effect-free modules every workflow imports. Passing them through means the sandbox does not
# re-import them for every workflow run (the registry must be shared with the worker anyway);
# runtime restrictions still apply to code inside them.
PASSTHROUGH_MODULES = (
    "pydantic",
    "pydantic_core",
    "annotated_types",
    "typing_inspection",
    "core.activities",
    "core.durable",
    "core.retry",
    "core.task_queues",
    "core.workflows",
)


FORCED_EXIT_CALLBACKS: list[Callable[[], None]] = []
"""Run before a forced exit (second Ctrl-C): ``lanes dev`` stops its Temporal server here."""

REPEAT_WINDOW = 1.0
"""Seconds within which a second SIGINT is the first one delivered again, not a second Ctrl-C:
``uv run`` without a terminal forwards the SIGINT its process group already got."""


def build_worker(
    client: Client,
    domain: Domain,
    *,
    task_queue: str | None = None,
    extra_activities: Sequence[Callable[..., Any]] = (),
    extra_workflows: Sequence[type] = (),
    config: LanesSettings | None = None,
    activity_executor: ThreadPoolExecutor | None = None,
) -> Worker:
    """A Temporal worker serving ``domain`` on its queue (or ``task_queue``)."""
    config = config or settings()
    queue = task_queue or domain.task_queue
    functions: list[Callable[..., Any]] = [ping, run_jobs, *(c.fn for c in domain.activities)]
    functions.extend(f for f in extra_activities if f not in functions)
    workflows = [SingleActivityWorkflow, BatchWorkflow, *domain.workflows]
    workflows.extend(w for w in extra_workflows if w not in workflows)
    served = {n for f in functions if (n := activity_name(f))}
    _served.serve(queue, frozenset(served))
    if not any(_is_dynamic(f) for f in functions):
        # An unknown name fails fast with what this worker serves (core.worker._jobs_guard).
        functions.append(unknown_activity(queue, frozenset(served)))
    needs_threads = any(not inspect.iscoroutinefunction(f) for f in functions)
    if needs_threads and activity_executor is None:
        # One thread per activity slot: fewer would queue started activities behind each other
        # while their start-to-close clocks run (the SDK warns about exactly that).
        activity_executor = ThreadPoolExecutor(config.max_concurrent_activities)
    # LANES_RATE_LIMITS first, then what the queue's activities declare (core.ratelimit).
    limit = config.rate_limits.get(queue) or domain.rate_limits.get(queue)
    if limit is not None:
        log.info(
            "queue %s rate limit %s: the server starts at most %.2f jobs/s, so no window sees "
            "more than the limit",
            queue,
            limit,
            limit.server_rate(),
        )
    return Worker(
        client,
        task_queue=queue,
        activities=functions,
        workflows=workflows,
        activity_executor=activity_executor,
        workflow_failure_exception_types=[pydantic.ValidationError],
        # Log context, one line and metrics per finished activity/workflow (core.telemetry).
        # and the job contract's result size limit.
        interceptors=[telemetry.WorkerTelemetryInterceptor(), JobGuardInterceptor()],
        graceful_shutdown_timeout=config.shutdown_timeout,
        max_concurrent_activities=config.max_concurrent_activities,
        max_concurrent_workflow_tasks=config.max_concurrent_workflow_tasks,
        max_concurrent_local_activities=config.max_concurrent_local_activities,
        # LANES_RATE_LIMITS: enforced by the server for the whole queue, every worker included.
        max_task_queue_activities_per_second=limit.server_rate() if limit else None,
        workflow_runner=SandboxedWorkflowRunner(
            restrictions=SandboxRestrictions.default.with_passthrough_modules(*PASSTHROUGH_MODULES)
        ),
        identity=f"{os.getpid()}@{socket.gethostname()}/{queue}",
        build_id=config.build_id or _default_build_id(domain),
    )


def _default_build_id(domain: Domain) -> str:
    # Installed versions, not a hash of the code: cheap, and still tells two releases apart.
    parts = [f"lanes-core-{_version('lanes-core')}"]
    for ep in entry_points(group=domains.ENTRY_POINT_GROUP, name=domain.name):
        if ep.dist is not None:
            parts.append(f"{ep.dist.name}-{ep.dist.version}")
    return "+".join(parts)


def _version(distribution: str) -> str:
    try:
        return version(distribution)
    except PackageNotFoundError:
        return "unknown"


def _is_dynamic(fn: Callable[..., Any]) -> bool:
    definition = getattr(fn, "__temporal_activity_definition", None)
    return definition is not None and getattr(definition, "name", "") is None


def activity_name(fn: Callable[..., Any]) -> str | None:
    config = activities.config_of(fn)
    if config is not None:
        return config.name
    definition = getattr(fn, "__temporal_activity_definition", None)
    return getattr(definition, "name", None)


async def serve(
    domain_list: Sequence[Domain],
    *,
    client: Client | None = None,
    stop: asyncio.Event | None = None,
    install_signal_handlers: bool = True,
    health: bool = True,
    on_ready: Callable[[HealthState], None] | None = None,
) -> None:
    """Serve the domains until ``stop`` is set (or SIGTERM/SIGINT), then drain and return."""
    config = settings()
    stop = stop or asyncio.Event()
    state = HealthState(queues=[q for d in domain_list for q in d.queues])
    if install_signal_handlers:
        install_drain_signals(stop)
    server = (
        HealthServer(
            state,
            config.health_host,
            config.health_port,
            extra_routes=[("/metrics", _metrics)],
        )
        if health
        else None
    )
    if server is not None:
        port = await server.start()
        log.info("health endpoint on http://%s:%d/readyz", config.health_host, port)
    try:
        client = client or await connect()
        if config.sync_schedules:
            await sync_domain_schedules(client, domain_list)
        # One worker per queue: a domain's main queue and each of its sub-queues (core.domains).
        workers = [
            build_worker(client, d, task_queue=q, config=config)
            for d in domain_list
            for q in d.queues
        ]
        tasks = [asyncio.create_task(w.run(), name=f"worker-{w.task_queue}") for w in workers]
        state.ready = True
        log.info(
            "serving queues %s on %s (drain timeout %ss)",
            ", ".join(state.queues),
            client.service_client.config.target_host,
            config.shutdown_timeout.total_seconds(),
        )
        if on_ready is not None:
            on_ready(state)
        stopped = asyncio.create_task(stop.wait())
        done, _ = await asyncio.wait([stopped, *tasks], return_when=asyncio.FIRST_COMPLETED)
        state.draining = True
        crashed = [t for t in done if t is not stopped and t.exception() is not None]
        log.info("shutting down: draining in-flight activities")
        await asyncio.gather(*(w.shutdown() for w in workers), return_exceptions=True)
        await asyncio.gather(*tasks, return_exceptions=True)
        stopped.cancel()
        if crashed:
            raise crashed[0].exception()  # type: ignore[misc]
        log.info("shutdown complete")
    finally:
        if "core.db.engine" in sys.modules:  # only a process that used the database has engines
            await sys.modules["core.db.engine"].dispose_engines()
        if server is not None:
            await server.stop()


async def _metrics() -> Response:
    return Response(200, await telemetry.metrics_text(), telemetry.METRICS_CONTENT_TYPE)


def install_drain_signals(
    stop: asyncio.Event,
    *,
    on_stop: Callable[[str], None] | None = None,
    on_forced_exit: Callable[[], None] | None = None,
) -> None:
    """SIGTERM or SIGINT sets ``stop`` (the drain). A SIGINT more than :data:`REPEAT_WINDOW` after
    the first is a person who will not wait: :data:`FORCED_EXIT_CALLBACKS`, then exit 130 at
    once. A repeated SIGTERM (a process manager) or a SIGINT within the window (``uv run``
    forwarding the first) keeps draining. ``on_stop(signal name)`` and ``on_forced_exit()`` say
    so; by default the worker's log lines."""
    loop = asyncio.get_running_loop()
    first: list[float] = []

    def on_signal(signum: int) -> None:
        name = signal.Signals(signum).name
        now = time.monotonic()
        if not stop.is_set():
            first.append(now)
            if on_stop is None:
                log.info("%s received: stopping", name)
            else:
                on_stop(name)
            stop.set()
            return
        repeat = bool(first) and now - first[0] <= REPEAT_WINDOW
        if signum == signal.SIGINT and not repeat:
            if on_forced_exit is None:
                log.warning("second SIGINT: exiting without waiting for in-flight activities")
            else:
                on_forced_exit()
            for callback in FORCED_EXIT_CALLBACKS:
                with contextlib.suppress(Exception):
                    callback()
            exit_process(130)
        log.info("%s received again: still draining", name)

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, on_signal, signum)


def run(
    domain_names: Iterable[str] | None = None, include: Iterable[str] | None = None
) -> NoReturn:
    """Serve the named domains (default: all installed) until stopped; never returns."""
    names = list(domain_names or [])
    service = f"lanes-{names[0]}" if len(names) == 1 else "lanes-worker"
    try:
        telemetry.configure(service)
        modules = _include_from_settings() if include is None else include
        loaded = domains.load_all(names or None, modules)
        _prepare_schema(loaded)
        asyncio.run(serve(loaded))
    except STARTUP_ERRORS as err:
        log.error("%s", err)
        exit_process(1)
    except KeyboardInterrupt:
        exit_process(130)
    except Exception:
        # A worker that crashed (not one that was told to stop): say why, exit non-zero so the
        # process manager restarts it, and still end the process deliberately.
        log.exception("worker stopped by an unexpected error")
        exit_process(1)
    exit_process(0)


def _prepare_schema(loaded: Sequence[Domain]) -> None:
    from core.db._revisions import locations, schema_is_current

    served = [d.name for d in loaded]
    if not any(name in locations() for name in served):
        return  # no served domain declares tables: no database at all
    if schema_is_current(served):
        return  # checked without loading SQLAlchemy or Alembic
    from core.db.migrations import prepare_worker_schema

    log.info("database schema: %s", prepare_worker_schema(served))


def run_domain_worker(name: str) -> NoReturn:
    """Entry point of ``<domain>-worker``: serve that one domain."""
    run([name])


def _include_from_settings() -> list[str]:
    return [m.strip() for m in settings().include.split(",") if m.strip()]


def exit_process(code: int) -> NoReturn:
    """End the process with ``code`` once telemetry and logs are flushed (see the module docs)."""
    # See the module docstring: end the process deliberately once shutdown is complete.
    with contextlib.suppress(Exception):
        telemetry.shutdown()  # spans still batched would be lost by os._exit
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
    os._exit(code)
