"""Typed settings from the environment.

Lanes' own settings use the ``LANES_`` prefix (``LANES_HEALTH_PORT=9000``). The Temporal connection
is not here: the SDK's own environment config reads it (``TEMPORAL_ADDRESS``,
``TEMPORAL_NAMESPACE``, ``TEMPORAL_API_KEY``, ``TEMPORAL_TLS_*``, ``TEMPORAL_PROFILE`` and the
``temporal.toml`` file), so Lanes, the ``temporal`` CLI and other SDK clients agree on one server.

Every ``LANES_*`` variable is a field of a settings class: core's below, a domain's in its own
``settings.py``. :func:`load_settings` reads any of them and turns a bad value into one
:class:`SettingsError` line naming the variable, the value and what it should be.
"""

from __future__ import annotations

import os
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BeforeValidator,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.ratelimit import RateLimit

__all__ = [
    "DEFAULT_TEMPORAL_ADDRESS",
    "LanesSettings",
    "Seconds",
    "SettingsError",
    "load_settings",
    "private_file",
    "private_home",
    "settings",
    "workspace_root",
]

S = TypeVar("S", bound=BaseSettings)

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


def _word(value: Any) -> Any:
    return value.strip().lower() if isinstance(value, str) else value


LogLevel = Literal["debug", "info", "warning", "error", "critical"]


class LanesSettings(BaseSettings):
    """Every ``LANES_*`` setting, with its default."""

    model_config = SettingsConfigDict(env_prefix="LANES_", extra="ignore")

    home: Path = Path(".lanes")
    """Where ``lanes dev`` keeps its state (Temporal's database, the SQLite file). Default: .lanes
    at the workspace root. A relative path is taken from the workspace root (the nearest folder
    up from here whose ``pyproject.toml`` declares ``[tool.uv.workspace]``, else the current
    folder), so ``lanes dev`` run from a subfolder finds the same state."""

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
    build_id: str = ""
    """What this worker's code is called on the server (workflow task events, the UI's worker
    list): set it to the image tag or git commit. Default: the installed versions of lanes-core
    and the served domains' distributions. (The SDK's own default hashes the bytecode of every
    loaded module, which took longer than the rest of a worker's start.)"""

    log_level: Annotated[LogLevel, BeforeValidator(_word)] = "info"
    """Lowest level logged: debug, info, warning, error or critical (any case). Default: info."""
    log_format: Annotated[Literal["auto", "json", "console"], BeforeValidator(_word)] = "auto"
    """``json`` lines, coloured ``console`` lines, or ``auto``: console on a terminal, JSON
    otherwise. Default: auto."""

    # Jobs (core.dispatch).
    dispatch_mode: Literal["activity", "workflow"] = "activity"
    """How ``dispatch`` runs a job: ``activity`` (a Temporal Standalone Activity; falls back to
    ``workflow`` once, with one log line, on a server without them) or ``workflow`` (a
    ``SingleActivityWorkflow`` per job). Default: activity."""
    payload_limit: int = Field(default=2 * 1024 * 1024, ge=0)
    """Largest job input or result in bytes; keep it at the server's ``limit.blobSize.error``
    (2 MB by default). 0 turns the check off. Default: 2 MB."""
    rate_limits: dict[str, Annotated[RateLimit, BeforeValidator(RateLimit.parse)]] = {}
    """The most jobs each queue may start in any second, minute or hour, across all its workers,
    as JSON in Celery's ``rate_limit`` notation (``{"analysis": "1200/m", "sync": 5}``; a bare
    number is per second). Applied by the server when workers poll, not by sleeping in workers,
    at the rate that keeps every window under the limit despite the server's one-second burst
    (``core.ratelimit``). Give every worker of a queue the same value. Default: none."""
    ui_url: str = "http://127.0.0.1:8233"
    """The Temporal UI, for the links ``lanes jobs`` prints. Default: ``lanes dev``'s UI."""
    result_waits: int = Field(default=500, ge=1)
    """Job results one process waits on at once: each wait is a long poll, and the server refuses
    more than ~1,200 per namespace (``namespace concurrent poller limit exceeded``).
    Default: 500."""

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

    @field_validator("home")
    @classmethod
    def _from_workspace_root(cls, value: Path) -> Path:
        return value if value.is_absolute() else workspace_root() / value


def workspace_root(start: Path | None = None) -> Path:
    """The nearest folder from ``start`` (default: the current one) up whose ``pyproject.toml``
    declares a uv workspace; ``start`` itself when there is none (an installed image)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        pyproject = folder / "pyproject.toml"
        try:
            if "[tool.uv.workspace]" in pyproject.read_text(encoding="utf-8"):
                return folder
        except OSError:
            continue
    return here


class SettingsError(ValueError):
    """A ``LANES_*`` variable holds a value Lanes cannot use."""


def load_settings(cls: type[S], what: str = "settings") -> S:
    """Read ``cls`` from the environment; a bad value is a :class:`SettingsError` saying which."""
    try:
        return cls()
    except ValidationError as err:
        prefix = str(cls.model_config.get("env_prefix") or "")
        problems = []
        for e in err.errors():
            # A field, then (for a dict or list setting) the key or index inside its JSON value.
            head, *inside = e["loc"] or ("",)
            name = str(head).upper() + "".join(f"[{p!r}]" for p in inside)
            field = cls.model_fields.get(str(e["loc"][0])) if e["loc"] else None
            secret = field is not None and "SecretStr" in repr(field.annotation)
            shown = "(hidden)" if secret else repr(e.get("input"))
            message = str(e["msg"]).removeprefix("Value error, ")
            problems.append(f"{prefix}{name}={shown}: {message}")
        raise SettingsError(f"invalid {what}: {'; '.join(problems)}") from None


@lru_cache(maxsize=1)
def settings() -> LanesSettings:
    """The process's settings, read once from the environment."""
    return load_settings(LanesSettings)


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
