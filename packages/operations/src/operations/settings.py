"""Settings of the operations domain, from ``LANES_*`` environment variables.

Read once per process; tests that change the environment call ``operations_settings.cache_clear()``.
"""

from __future__ import annotations

from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any

from pydantic import Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from core.settings import Seconds, SettingsError

__all__ = ["OperationsSettings", "operations_settings"]


class OperationsSettings(BaseSettings):
    """Every setting of the operations domain, with its default."""

    model_config = SettingsConfigDict(env_prefix="LANES_OPERATIONS_", extra="ignore")

    alert_emails: Annotated[list[str], NoDecode] = Field(default_factory=list)
    """Comma-separated addresses emailed about incidents of monitors that name nobody, and about
    onboarding escalations without approvers. Default: none (webhooks only)."""
    email_queue: str = "email"
    """Queue of the mail domain's ``send_email``, dispatched by name. Default: ``email``."""
    check_concurrency: int = Field(default=50, ge=1, le=1000)
    """Uptime checks in flight at once in one run. Default: 50."""
    webhook_timeout: Seconds = timedelta(seconds=10)
    """Timeout of one webhook POST; a timeout is retried. Default: 10 s."""

    @field_validator("alert_emails", mode="before")
    @classmethod
    def _split(cls, value: Any) -> Any:
        if isinstance(value, str):
            return [v.strip() for v in value.split(",") if v.strip()]
        return value


@lru_cache(maxsize=1)
def operations_settings() -> OperationsSettings:
    """The process's operations settings, read once from the environment."""
    try:
        return OperationsSettings()
    except ValidationError as err:
        problems = "; ".join(
            f"LANES_OPERATIONS_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: "
            f"{e['msg']}"
            for e in err.errors()
        )
        raise SettingsError(f"invalid operations settings: {problems}") from None
