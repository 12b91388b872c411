"""Typed settings from the environment.

Lanes' own settings use the ``LANES_`` prefix (``LANES_HEALTH_PORT=9000``). The Temporal connection
is not here: the SDK's own environment config reads it (``TEMPORAL_ADDRESS``,
``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``, ``TEMPORAL_PROFILE`` and the
``temporal.toml`` file), so Lanes, the ``temporal`` CLI and other SDK clients agree on one server.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from pathlib import Path

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = ["DEFAULT_TEMPORAL_ADDRESS", "LanesSettings", "SettingsError", "settings"]

DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"
"""Where clients connect when ``TEMPORAL_ADDRESS`` is unset: the server ``lanes dev`` starts."""


class LanesSettings(BaseSettings):
    """Every ``LANES_*`` setting, with its default."""

    model_config = SettingsConfigDict(env_prefix="LANES_", extra="ignore")

    home: Path = Path(".lanes")
    """Where ``lanes dev`` keeps its state (Temporal's database, the SQLite file). Default .lanes"""

    health_host: str = "0.0.0.0"  # noqa: S104 - probes come from outside the pod
    """Interface of the health and metrics endpoint. Default: all interfaces."""
    health_port: int = Field(default=8080, ge=0, le=65535)
    """Port of ``/healthz``, ``/readyz`` and ``/metrics``; 0 picks a free one. Default: 8080."""

    shutdown_timeout: timedelta = timedelta(seconds=30)
    """How long SIGTERM waits for in-flight activities before cancelling them. Default: 30 s.
    Keep Kubernetes' ``terminationGracePeriodSeconds`` above it."""

    @field_validator("shutdown_timeout", mode="before")
    @classmethod
    def _seconds_as_number(cls, value: object) -> object:
        # Environment values are strings, and pydantic reads "30" as neither seconds nor a
        # duration; deploy/ (compose, Kubernetes) writes plain seconds.
        if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
            return float(value)
        return value

    max_concurrent_activities: int = Field(default=100, ge=1)
    """Activities one worker runs at once, per queue. Default: 100."""
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    """Workflow tasks one worker runs at once, per queue. Default: 100."""
    max_concurrent_local_activities: int = Field(default=100, ge=1)
    """Local activities (fast path, bulk dispatch) one worker runs at once. Default: 100."""
    sync_schedules: bool = True
    """Sync each served domain's ``schedules.py`` with the server when a worker starts.
    Default: true."""
    activity_threads: int = Field(default=16, ge=1)
    """Threads for synchronous (``def``) activities. Default: 16."""


class SettingsError(ValueError):
    """A ``LANES_*`` variable holds a value Lanes cannot use."""


@lru_cache(maxsize=1)
def settings() -> LanesSettings:
    """The process's settings, read once from the environment."""
    try:
        return LanesSettings()
    except ValidationError as err:
        problems = "; ".join(
            f"LANES_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: {e['msg']}"
            for e in err.errors()
        )
        raise SettingsError(f"invalid settings: {problems}") from None
