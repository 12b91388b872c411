"""The redaction step every log line passes through before it is rendered.

Secrets are dropped by key (``password``, ``token``, ``api_key``, ``secret``, ``authorization``,
cookies, credentials, private keys) wherever they sit in the event, nested dicts and lists
included. In string values, ``Bearer``/``Basic`` credentials and secret-looking URL query
parameters are replaced, and email addresses are masked to ``j***@example.com``: enough to tell
two users apart in an incident, not enough to contact them.

It runs last, after exceptions were rendered to text, so a secret inside an exception message or
a traceback is redacted too.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

__all__ = ["REDACTED", "redact", "redact_processor"]

REDACTED = "[REDACTED]"

# Keys are compared after lower-casing and removing "-" and "_", so "API-Key", "api_key" and
# "apiKey" are one key.
_SECRET_KEY = re.compile(
    r"(password|passwd|pwd|secret|token|apikey|authorization|cookie|credential|privatekey"
    r"|sessionid|signature)"
)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"([?&](?:access_token|token|api_key|apikey|key|password|secret|signature|sig)=)[^&#\s]+",
    re.IGNORECASE,
)
# `password=...`, `"api_key": "..."` inside free text (f-strings, reprs of models, exceptions).
_ASSIGNMENT = re.compile(
    r"\b(password|passwd|secret|token|api[_-]?key|authorization)(['\"]?\s*[=:]\s*['\"]?)"
    r"(?!Bearer\b|Basic\b)[^\s,'\"&}]+",
    re.IGNORECASE,
)
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")

# Structural keys Lanes itself adds; never redacted even though e.g. "token" might match a
# future field name by accident.
_KEEP = frozenset({"event", "level", "logger", "timestamp", "trace_id", "span_id", "service"})


def _secret_key(key: object) -> bool:
    if not isinstance(key, str) or key in _KEEP:
        return False
    return bool(_SECRET_KEY.search(key.lower().replace("_", "").replace("-", "")))


def redact_text(text: str) -> str:
    """``text`` with credentials removed and email addresses masked."""
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    return _EMAIL.sub(lambda m: f"{m.group(1)}***@{m.group(2)}", text)


def redact(value: Any) -> Any:
    """A copy of ``value`` (str, mapping, list, tuple, anything) with secrets removed."""
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, Mapping):
        return {k: REDACTED if _secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [redact(v) for v in value]
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    # Anything else would be rendered with repr() or str() later; redact that text now.
    return redact_text(str(value))


def redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: :func:`redact` every field of the event."""
    return {k: REDACTED if _secret_key(k) else redact(v) for k, v in event_dict.items()}
