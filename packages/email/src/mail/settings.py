"""Settings of the email domain, from ``LANES_*`` environment variables.

The SMTP relay is one URL: ``smtp://host:port`` (plain, upgraded with STARTTLS when the server
offers it unless ``LANES_SMTP_STARTTLS`` says otherwise) or ``smtps://host:port`` (TLS from the
first byte, usually port 465). Credentials come from the URL (``smtp://user:pass@host``) or from
``LANES_SMTP_USERNAME`` / ``LANES_SMTP_PASSWORD``. Read once per process; tests that change the
environment call ``mail_settings.cache_clear()``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from functools import lru_cache
from pathlib import Path
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict

from core.settings import Seconds, SettingsError, settings

__all__ = ["DEV_SMTP_PORT", "MailSettings", "SmtpTarget", "mail_settings"]

DEV_SMTP_PORT = 8025
"""Port of the local sink `lanes dev` starts (a free one when this is taken)."""


@dataclass(frozen=True)
class SmtpTarget:
    """Where and how to connect, parsed from the settings."""

    host: str
    port: int
    use_tls: bool
    """TLS from the first byte (``smtps://``)."""
    start_tls: bool | None
    """STARTTLS: required (True), never (False) or when offered (None)."""
    username: str | None
    password: str | None


class MailSettings(BaseSettings):
    """Every setting of the email domain, with its default."""

    model_config = SettingsConfigDict(env_prefix="LANES_", extra="ignore")

    smtp_url: str = f"smtp://127.0.0.1:{DEV_SMTP_PORT}"
    """The relay: ``smtp://[user:pass@]host[:port]`` or ``smtps://...``. Default: the local sink
    of ``lanes dev`` (which sets this variable for the workers it starts)."""
    smtp_username: str | None = None
    """User for SMTP AUTH when the URL carries none. Default: no authentication."""
    smtp_password: SecretStr | None = None
    """Password for SMTP AUTH when the URL carries none."""
    smtp_starttls: bool | None = None
    """``true``: STARTTLS is required; ``false``: never; unset: used when the server offers it."""
    smtp_timeout: Seconds = timedelta(seconds=30)
    """Timeout of one SMTP command; a timeout is retried under the activity's policy."""
    mail_from: str = "Lanes <no-reply@lanes.example>"
    """Sender of every message that names none. Its domain is the sending domain (warming
    limits, ``Message-ID``)."""
    mail_unsubscribe_url: str | None = None
    """One-click unsubscribe link, ``{email}`` replaced by the recipient's address (URL-quoted):
    sent as ``List-Unsubscribe`` with ``List-Unsubscribe-Post``. Default: a ``mailto:`` link to
    ``unsubscribe@<sending domain>``."""
    mail_send_lease: Seconds = timedelta(minutes=2)
    """How long a send's idempotency claim holds before another attempt may take it over (a
    worker died mid-send). Keep it above the longest SMTP exchange."""
    mail_dir: Path | None = None
    """Where the local sink keeps ``.eml`` files. Default: ``<LANES_HOME>/mail``."""
    mail_campaign_concurrency: int = Field(default=4, ge=1, le=32)
    """SMTP connections one campaign batch sends over at once: each send waits on the relay and
    on two ledger commits, so a few in parallel keep both busy. Default: 4."""

    def smtp_target(self) -> SmtpTarget:
        """The relay to connect to; raises :class:`SettingsError` for a URL it cannot use."""
        parts = urlsplit(self.smtp_url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SettingsError(
                f"LANES_SMTP_URL={self.smtp_url!r}: expected smtp://host:port or smtps://host:port"
            )
        tls = parts.scheme == "smtps"
        try:
            port = parts.port or (465 if tls else 25)
        except ValueError:
            raise SettingsError(f"LANES_SMTP_URL={self.smtp_url!r}: invalid port") from None
        password = self.smtp_password.get_secret_value() if self.smtp_password else None
        return SmtpTarget(
            host=parts.hostname,
            port=port,
            use_tls=tls,
            start_tls=False if tls else self.smtp_starttls,
            username=unquote(parts.username) if parts.username else self.smtp_username,
            password=unquote(parts.password) if parts.password else password,
        )

    def outbox_dir(self) -> Path:
        """The folder of the local sink's ``.eml`` files."""
        return self.mail_dir or settings().home / "mail"


@lru_cache(maxsize=1)
def mail_settings() -> MailSettings:
    """The process's email settings, read once from the environment."""
    try:
        return MailSettings()
    except ValidationError as err:
        problems = "; ".join(
            f"LANES_{'_'.join(str(p) for p in e['loc']).upper()}={e.get('input')!r}: {e['msg']}"
            for e in err.errors()
        )
        raise SettingsError(f"invalid email settings: {problems}") from None
