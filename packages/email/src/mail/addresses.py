"""Address validation with ``email-validator``: syntax and normalisation, never DNS.

Deliverability checks (MX lookups) are off: they need the network, are slow, and a relay's
bounce is the authoritative answer anyway (and a 550 suppresses the address).
"""

from __future__ import annotations

from email.utils import formataddr, parseaddr

from email_validator import EmailNotValidError, validate_email

from mail.errors import invalid_address

__all__ = ["domain_of", "normalize", "normalize_sender"]


def normalize(address: str) -> str:
    """The normalised address, or a non-retryable ``InvalidAddress`` saying what is wrong."""
    try:
        return validate_email(address.strip(), check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise invalid_address(f"invalid recipient address {address!r}: {err}") from None


def normalize_sender(sender: str) -> str:
    """``"Name <addr>"`` or ``addr``, with the address part validated."""
    name, address = parseaddr(sender)
    if not address:
        raise invalid_address(f"invalid sender {sender!r}: expected 'Name <address>' or address")
    try:
        address = validate_email(address, check_deliverability=False).normalized
    except EmailNotValidError as err:
        raise invalid_address(f"invalid sender {sender!r}: {err}") from None
    return formataddr((name, address)) if name else address


def domain_of(sender: str) -> str:
    """The domain of a sender (``"Name <a@b.example>"`` → ``b.example``), lower-cased."""
    return parseaddr(sender)[1].rpartition("@")[2].lower()
