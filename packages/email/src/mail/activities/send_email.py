"""``send_email``: one transactional message, sent once per ``idempotency_key``.

Dispatch it by name from any service::

    await dispatch("send_email", {"to": "ada@example.com", "template": "welcome",
                                  "context": {"name": "Ada", "login_url": "https://..."},
                                  "idempotency_key": "welcome:user-42"}, task_queue="email")

or with ``subject`` + ``text`` (and optionally ``html``) instead of a template. A suppressed
address returns ``status="skipped"``; a relay's 5xx fails the job without retries (and is
recorded, so the same key fails the same way without sending); a 4xx is retried. See
:mod:`mail.delivery` for how "once" is kept.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pydantic
from temporalio.exceptions import ApplicationError

from core import activities, db
from mail.addresses import normalize, normalize_sender
from mail.errors import MAIL_SEND, smtp_rejected
from mail.outcome import DeliveryOutcome
from mail.settings import mail_settings

BODY = ("core.db.engine", "mail.store", "mail.delivery")
"""What the activity's body imports on its first job (SQLAlchemy, the SMTP client, the
templates), not at worker start."""

__all__ = ["SendEmailInput", "send_email"]


class SendEmailInput(pydantic.BaseModel):
    """One message: a template with its context, or a subject with a text (and HTML) body."""

    model_config = pydantic.ConfigDict(extra="forbid")

    to: str = pydantic.Field(min_length=1, max_length=320)
    idempotency_key: str = pydantic.Field(min_length=1, max_length=200)
    """The message goes out once per key, however often it is dispatched or retried."""
    template: str | None = None
    """A template shipped in ``mail/templates`` (``welcome``, ``password_reset``,
    ``newsletter``); ``context`` must satisfy its model."""
    context: dict[str, Any] = pydantic.Field(default_factory=dict)
    subject: str | None = None
    text: str | None = None
    html: str | None = None
    sender: str | None = None
    """``From``. Default: ``LANES_MAIL_FROM``."""

    @pydantic.model_validator(mode="after")
    def _one_body(self) -> SendEmailInput:
        if self.template is not None:
            if self.subject is not None or self.text is not None or self.html is not None:
                raise ValueError("give either template (+ context) or subject + text, not both")
        elif self.subject is None or self.text is None:
            raise ValueError("give template (+ context), or subject and text (+ optional html)")
        elif self.context:
            raise ValueError("context is only used with a template")
        return self


@activities.defn(retry=MAIL_SEND, start_to_close=timedelta(minutes=2))
async def send_email(input: SendEmailInput) -> DeliveryOutcome:
    """Send one message once per idempotency key; a suppressed address is a recorded skip."""
    config = mail_settings()
    sender = normalize_sender(input.sender or config.mail_from)
    await activities.preload(*BODY)
    from mail import store
    from mail.delivery import deliver, log_outcomes, prepare
    from mail.smtp import SmtpConnection

    try:
        to = normalize(input.to)
        delivery = prepare(
            config,
            key=input.idempotency_key,
            to=to,
            sender=sender,
            template=input.template,
            context=input.context,
            subject=input.subject,
            text=input.text,
            html=input.html,
        )
    except ApplicationError as err:
        async with db.session() as s:
            await store.log_send(
                s, input.idempotency_key, to_address=input.to, status="failed", reason=err.message
            )
        raise
    async with SmtpConnection(config) as smtp:
        outcome = await deliver(delivery, smtp, config)
    async with db.session() as s:
        await log_outcomes(s, [(delivery, outcome)])
    if outcome.status == "failed":
        raise smtp_rejected(f"{outcome.to}: {outcome.reason}")
    return outcome
