"""Settings of the analysis domain, from ``LANES_*`` environment variables.

With ``LANES_LLM_MODEL`` unset, commits are analysed by the built-in deterministic analyzer (the
embedded default: ``lanes dev`` analyses end to end offline). Read once per process; tests that
change the environment call ``analysis_settings.cache_clear()``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import Seconds, SettingsError

__all__ = ["AnalysisSettings", "analysis_settings"]


class AnalysisSettings(BaseSettings):
    """Every setting of the analysis domain, with its default."""

    model_config = SettingsConfigDict(env_prefix="LANES_", extra="ignore")

    llm_model: str | None = None
    """Model name sent to the OpenAI-compatible API (``gpt-4o-mini``, ``llama3.1``...).
    Default: none — the built-in analyzer runs and no model is called."""
    llm_base_url: str | None = None
    """Base URL of the OpenAI-compatible API (``http://127.0.0.1:11434/v1`` for Ollama).
    Default: OpenAI's."""
    llm_api_key: SecretStr | None = None
    """API key, sent as ``Authorization: Bearer``; never logged. Default: none (local servers)."""
    llm_timeout: Seconds = timedelta(seconds=60)
    """Timeout of one model request; a timeout is retried under ``LLM_RETRY``."""
    llm_max_rate_limit_wait: Seconds = timedelta(minutes=5)
    """Longest ``Retry-After`` waited out inside the attempt (heartbeating, no attempt used); a
    longer one ends the attempt with the server's delay as the next retry delay."""
    llm_rate_limit_default_wait: Seconds = timedelta(seconds=10)
    """Wait after a 429 that names no delay. Default: 10 s."""
    llm_output_retries: int = Field(default=1, ge=0, le=5)
    """Times the model is asked again, inside the same call, after output that does not validate
    (the validation errors are sent back to it). Past that the commit fails non-retryably.
    Default: 1."""
    analysis_concurrency: int = Field(default=16, ge=1, le=1000)
    """Model calls running at once in one worker process (over all its activities).
    Default: 16."""


@lru_cache(maxsize=1)
def analysis_settings() -> AnalysisSettings:
    """The process's analysis settings, read once from the environment."""
    try:
        return AnalysisSettings()
    except ValidationError as err:
        problems = "; ".join(
            f"LANES_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: {e['msg']}"
            for e in err.errors()
        )
        raise SettingsError(f"invalid analysis settings: {problems}") from None
