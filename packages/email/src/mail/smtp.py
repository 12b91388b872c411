"""The SMTP side: one connection to the relay, and what its answers mean.

:func:`classify` is a pure function of the reply code and text, kept out of the I/O code so the
protocol decision is tested on its own:

- 4xx — temporary (greylisting, a full mailbox, a busy relay): the attempt fails and Temporal
  retries it.
- 5xx — permanent: the same message would be refused again. Recorded, never retried.
- 550/551/553 saying the mailbox does not exist (enhanced status ``5.1.x``, or the usual wording
  when the relay sends no enhanced code) — a hard bounce: the address is also suppressed.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from email.message import EmailMessage
from types import TracebackType
from typing import Literal

import aiosmtplib
from temporalio.exceptions import ApplicationError

from mail.errors import SMTP_TEMPORARY, SMTP_UNAVAILABLE
from mail.settings import MailSettings

__all__ = ["SmtpConnection", "SmtpReply", "classify"]

Verdict = Literal["temporary", "permanent", "no_such_user"]

_ENHANCED = re.compile(r"^\s*([245])\.(\d{1,3})\.(\d{1,3})\b")
_NO_SUCH_USER = re.compile(
    r"no such (user|mailbox|recipient)|user unknown|unknown (user|recipient)|"
    r"mailbox (does not exist|not found|unavailable)|does not exist|recipient address rejected",
    re.IGNORECASE,
)


def classify(code: int, text: str) -> Verdict:
    """What an SMTP error reply means for the send."""
    if 400 <= code < 500:
        return "temporary"
    if code in (550, 551, 553):
        enhanced = _ENHANCED.match(text)
        if enhanced is not None:
            if enhanced.group(1) == "5" and enhanced.group(2) == "1":
                return "no_such_user"
        elif _NO_SUCH_USER.search(text):
            return "no_such_user"
    return "permanent"


@dataclass(frozen=True)
class SmtpReply:
    """A refusal from the relay."""

    code: int
    text: str
    verdict: Verdict

    def describe(self) -> str:
        return f"SMTP {self.code} {self.text}".strip()


class SmtpConnection:
    """One connection to the relay, opened on first use and reopened after an error.

    :meth:`send` returns ``None`` when the relay accepted the message, an :class:`SmtpReply` when
    it refused it permanently, and raises a retryable ``ApplicationError`` for a temporary
    refusal or a relay that cannot be reached.
    """

    def __init__(self, config: MailSettings) -> None:
        self._target = config.smtp_target()
        self._timeout = config.smtp_timeout.total_seconds()
        self._client: aiosmtplib.SMTP | None = None

    async def __aenter__(self) -> SmtpConnection:
        return self

    async def __aexit__(
        self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.close()

    async def send(self, message: EmailMessage) -> SmtpReply | None:
        """Send one message; see the class docstring."""
        try:
            client = await self._connected()
            await client.send_message(message)
        except aiosmtplib.SMTPRecipientsRefused as err:
            await self.close()
            refused = err.recipients[0]
            return self._refused(refused.code, refused.message)
        except aiosmtplib.SMTPResponseException as err:
            await self.close()
            return self._refused(err.code, err.message)
        except (aiosmtplib.SMTPException, OSError, TimeoutError) as err:
            await self.close()
            t = self._target
            raise ApplicationError(
                f"SMTP relay {t.host}:{t.port} unavailable: {type(err).__name__}: {err}",
                type=SMTP_UNAVAILABLE,
            ) from None
        return None

    async def close(self) -> None:
        client, self._client = self._client, None
        if client is not None and client.is_connected:
            try:
                await client.quit()
            except (aiosmtplib.SMTPException, OSError, TimeoutError):
                client.close()

    def _refused(self, code: int, text: str) -> SmtpReply:
        reply = SmtpReply(code, text, classify(code, text))
        if reply.verdict == "temporary":
            raise ApplicationError(
                f"the relay refused for now: {reply.describe()}", type=SMTP_TEMPORARY
            )
        return reply

    async def _connected(self) -> aiosmtplib.SMTP:
        if self._client is not None and self._client.is_connected:
            return self._client
        t = self._target
        client = aiosmtplib.SMTP(
            hostname=t.host,
            port=t.port,
            use_tls=t.use_tls,
            start_tls=t.start_tls,
            username=t.username,
            password=t.password,
            timeout=self._timeout,
        )
        await client.connect()
        self._client = client
        return client
