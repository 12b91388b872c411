"""The worker runtime: the bootstrap behind every ``<domain>-worker`` script and ``lanes worker``.

The bootstrap itself (signals, drain, schedules, the per-queue ``Worker``) is in
:mod:`core.worker._bootstrap`; the health and metrics endpoint in :mod:`core.worker.health`.
"""

from core.worker._bootstrap import (
    FORCED_EXIT_CALLBACKS,
    PASSTHROUGH_MODULES,
    REPEAT_WINDOW,
    activity_name,
    build_worker,
    exit_process,
    install_drain_signals,
    run,
    run_domain_worker,
    serve,
)

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
