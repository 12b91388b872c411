"""Typed settings from the environment.

Lanes' own settings use the ``LANES_`` prefix (``LANES_HEALTH_PORT=9000``). The Temporal connection
is not here: the SDK's own environment config reads it (``TEMPORAL_ADDRESS``,
``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``, ``TEMPORAL_PROFILE`` and the
``temporal.toml`` file), so Lanes, the ``temporal`` CLI and other SDK clients agree on one server.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any

from pydantic import BeforeValidator, Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

__all__ = [
    "DEFAULT_TEMPORAL_ADDRESS",
    "LanesSettings",
    "SettingsError",
    "private_file",
    "private_home",
    "settings",
]

DEFAULT_TEMPORAL_ADDRESS = "127.0.0.1:7233"
"""Where clients connect when ``TEMPORAL_ADDRESS`` is unset: the server ``lanes dev`` starts."""


def _seconds(value: Any) -> Any:
    # Environment values are strings and pydantic reads "30" as no duration at all; people mean
    # seconds. ISO 8601 ("PT30S") and "HH:MM:SS" still work.
    if isinstance(value, str) and value.strip().replace(".", "", 1).isdigit():
        return float(value)
    return value


Seconds = Annotated[timedelta, BeforeValidator(_seconds)]
"""A duration setting given in seconds (``30``) or ISO 8601 (``PT30S``)."""


class LanesSettings(BaseSettings):
    """Every ``LANES_*`` setting, with its default."""

    model_config = SettingsConfigDict(env_prefix="LANES_", extra="ignore")

    home: Path = Path(".lanes")
    """Where ``lanes dev`` keeps its state (Temporal's database, the SQLite file). Default .lanes"""

    health_host: str = "0.0.0.0"  # noqa: S104 - probes come from outside the pod
    """Interface of the health and metrics endpoint. Default: all interfaces."""
    health_port: int = Field(default=8080, ge=0, le=65535)
    """Port of ``/healthz``, ``/readyz`` and ``/metrics``; 0 picks a free one. Default: 8080."""

    shutdown_timeout: Seconds = timedelta(seconds=30)
    """How long SIGTERM waits for in-flight activities before cancelling them. Default: 30 s.
    Keep Kubernetes' ``terminationGracePeriodSeconds`` above it."""

    max_concurrent_activities: int = Field(default=100, ge=1)
    """Activities one worker runs at once, per queue. Default: 100."""
    max_concurrent_workflow_tasks: int = Field(default=100, ge=1)
    """Workflow tasks one worker runs at once, per queue. Default: 100."""
    max_concurrent_local_activities: int = Field(default=100, ge=1)
    """Local activities (fast path, bulk dispatch) one worker runs at once. Default: 100."""
    include: str = ""
    """Comma-separated extra modules a ``<domain>-worker`` imports and serves (like Celery's
    ``--include``). Default: none."""
    sync_schedules: bool = True
    """Sync each served domain's ``schedules.py`` with the server when a worker starts.
    Default: true."""

    # Database (core.db). A secret: the URL may carry a password, so it never shows in a repr.
    database_url: SecretStr | None = None
    """SQLAlchemy URL (``postgresql://user:pw@host/db``; the async driver is added). Default: the
    SQLite file ``<home>/lanes.db``."""
    db_pool_size: int = Field(default=5, ge=1)
    """Connections a process keeps open to PostgreSQL. Default: 5."""
    db_max_overflow: int = Field(default=10, ge=0)
    """Extra connections allowed above the pool size under load. Default: 10."""
    db_pool_timeout: Seconds = timedelta(seconds=30)
    """How long a session waits for a free connection before failing (retryably). Default: 30 s."""
    db_pool_recycle: Seconds = timedelta(minutes=30)
    """Connections older than this are replaced, ahead of server and proxy idle limits.
    Default: 30 min."""
    db_connect_timeout: Seconds = timedelta(seconds=10)
    """How long opening one connection may take. Default: 10 s."""

    # Security (core.codec, ``lanes codec-server``). Secrets: never shown in a repr.
    encryption_keys: SecretStr | None = None
    """Payload encryption keys, comma-separated ``key_id:base64_of_32_bytes``; the first encrypts,
    all decrypt (rotation: put the new key first, keep the old ones). Default: none, payloads are
    stored as plain JSON (encrypted ones still fail with a clear error naming their key id)."""
    codec_server_token: SecretStr | None = None
    """Bearer token ``lanes codec-server`` requires on every request. Default: none (the server
    refuses to start without one)."""
    codec_server_origins: str = ""
    """Comma-separated browser origins the codec server allows (CORS), e.g. the Temporal UI's
    ``http://127.0.0.1:8233``. Default: none."""


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


def private_home(config: LanesSettings | None = None) -> Path:
    """``LANES_HOME``, created (or tightened) to 0700 with its files 0600: it holds every job's
    history, the SQLite database and logs, which are nobody else's business on a shared machine.
    """
    config = config or settings()
    home = config.home
    home.mkdir(mode=0o700, parents=True, exist_ok=True)
    home.chmod(0o700)
    for entry in home.iterdir():
        if entry.is_file() and not entry.is_symlink():
            entry.chmod(0o600)
    if config.database_url is None:
        private_file(home / "lanes.db")  # an empty file is an empty SQLite database
    return home


def private_file(path: Path) -> Path:
    """``path`` created empty with mode 0600 when missing (SQLite's journal and WAL files then
    take the same mode), so a file is never readable by others, even for a moment."""
    os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    return path
