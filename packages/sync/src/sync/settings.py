"""Settings of the sync domain, from ``LANES_*`` environment variables.

The domain owns its settings (core's :mod:`core.settings` knows nothing of GitHub). Read once per
process; tests that change the environment call ``sync_settings.cache_clear()``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import Seconds, load_settings

__all__ = ["SyncSettings", "sync_settings"]


class SyncSettings(BaseSettings):
    """Every setting of the sync domain, with its default."""

    model_config = SettingsConfigDict(env_prefix="LANES_", extra="ignore")

    github_api_url: str = "https://api.github.com"
    """Base URL of the GitHub-compatible REST API (GitHub Enterprise: ``https://host/api/v3``).
    ``https://github.com/<owner>/<name>`` repository URLs are mapped onto it. Default: GitHub."""
    github_token: SecretStr | None = None
    """Token sent as ``Authorization: Bearer`` — only to the origin of ``github_api_url``, never to
    another host a repository URL names. Default: none (anonymous, 60 requests/hour on GitHub)."""
    github_timeout: Seconds = timedelta(seconds=30)
    """Timeout of one HTTP request; a timeout is retried under the activity's policy."""
    github_max_rate_limit_wait: Seconds = timedelta(minutes=30)
    """Longest rate-limit delay waited out inside the activity (heartbeating, no attempt used);
    a longer one ends the attempt with the server's delay as the next retry delay."""
    sync_batch_size: int = Field(default=500, ge=1, le=5000)
    """Commits written (and one heartbeat sent) per batch. Default: 500."""
    sync_analysis: bool = True
    """Hand the commits of every batch that inserted commits (every batch of a full sync or of a
    retried attempt) to the analysis domain (``analyze_commits``, by name: no import between
    the domains). Default: on."""
    sync_analysis_batch_size: int = Field(default=50, ge=1, le=500)
    """Commits per ``analyze_commits`` job handed to analysis. Default: 50."""
    sync_analysis_queue: str = "analysis"
    """Queue the hand-off dispatches to. Default: ``analysis``."""
    sync_page_size: int = Field(default=100, ge=1, le=100)
    """Items per API page (``per_page``); GitHub allows at most 100. Default: 100."""


@lru_cache(maxsize=1)
def sync_settings() -> SyncSettings:
    """The process's sync settings, read once from the environment."""
    return load_settings(SyncSettings, "sync settings")
