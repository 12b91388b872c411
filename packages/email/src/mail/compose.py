"""Building the MIME message: headers, parts, and the ``Message-ID`` derived from the key.

The ``Message-ID`` is a hash of the idempotency key at the sending domain, so every attempt of
one send carries the same id. That closes, for a relay or mailbox that deduplicates on it, the
one window core's ledger cannot: the relay accepted the message (250 after DATA) and the worker
died before the ledger recorded it. The next attempt then sends the same message again, under
the same ``Message-ID``.
"""

from __future__ import annotations

import hashlib
from email.message import EmailMessage
from email.utils import formatdate
from urllib.parse import quote

from mail.addresses import domain_of

__all__ = ["build_message", "message_id_for", "unsubscribe_url"]


def message_id_for(key: str, sender: str) -> str:
    """``<sha256(key)[:40]@sending domain>``: the same for every attempt of one send."""
    digest = hashlib.sha256(key.encode()).hexdigest()[:40]
    return f"<{digest}@{domain_of(sender) or 'lanes.localhost'}>"


def unsubscribe_url(template: str | None, to: str, sender: str) -> str:
    """The recipient's unsubscribe link: the configured URL, or a mailto at the sending domain."""
    if template:
        return template.replace("{email}", quote(to, safe=""))
    return f"mailto:unsubscribe@{domain_of(sender) or 'lanes.localhost'}?subject=unsubscribe"


def build_message(
    *,
    to: str,
    sender: str,
    subject: str,
    text: str,
    html: str | None,
    message_id: str,
    unsubscribe: str,
) -> EmailMessage:
    """A ``multipart/alternative`` message (or plain text) with the list headers."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    message["List-Unsubscribe"] = f"<{unsubscribe}>"
    if unsubscribe.startswith("https://"):
        # RFC 8058 one-click: mailbox providers POST to the link instead of opening it.
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    message.set_content(text)
    if html is not None:
        message.add_alternative(html, subtype="html")
    return message
