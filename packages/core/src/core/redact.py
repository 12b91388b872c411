"""Redaction: the one step every exit of a Lanes process passes through.

Applied to log lines (the last processor before rendering, after tracebacks became text), to
span attributes, events and status before export (:mod:`core.telemetry`), to the messages of
exceptions leaving an activity (so the workflow history does not keep them), to error messages
written to our tables, and to database URLs in errors. The SDK's DEBUG lines that would print
whole activations and completions (payloads included) get the payloads replaced
(:func:`hide_sdk_payloads`).

What is removed:

- by key, wherever it sits in a mapping: ``password``, ``token``, ``api_key``, ``secret``,
  ``authorization``, cookies, credentials, private keys, signatures;
- in text: ``Bearer``/``Basic`` credentials, ``password=...``-style assignments, secret-looking
  URL query parameters, the password of ``scheme://user:password@host`` URLs;
- values of this process's secret environment variables (names with ``TOKEN``, ``PASSWORD``,
  ``SECRET``, ``API_KEY``, ``PRIVATE_KEY``, ``CREDENTIAL``; the keys of
  ``LANES_ENCRYPTION_KEYS``; the password of ``LANES_DATABASE_URL``) wherever they appear;
- card numbers: 13 to 19 digits (spaces or dashes allowed), first digit 2 to 6, Luhn-valid;
- token-like strings: known formats (GitHub ``ghp_``/``github_pat_``, ``sk-...``, Slack
  ``xox?-``, AWS ``AKIA...``, JWTs) and any run of 24+ base64/URL-safe characters mixing upper
  case, lower case and digits densely enough to be random (hex ids, UUIDs and identifiers stay);
- email addresses are masked to ``j***@example.com``: enough to tell two users apart in an
  incident, not enough to contact them.
"""

from __future__ import annotations

import logging
import os
import re
from collections.abc import Mapping, MutableMapping
from functools import lru_cache
from typing import Any

__all__ = [
    "REDACTED",
    "environment_secrets",
    "hide_sdk_payloads",
    "redact",
    "redact_exception",
    "redact_processor",
    "redact_text",
    "redact_url",
]

REDACTED = "[REDACTED]"

# Keys are compared after lower-casing and removing "-" and "_", so "API-Key", "api_key" and
# "apiKey" are one key.
_SECRET_KEY = re.compile(
    r"(password|passwd|pwd|secret|token|apikey|authorization|cookie|credential|privatekey"
    r"|sessionid|signature)"
)
_BEARER = re.compile(r"\b(Bearer|Basic|Token)\s+[A-Za-z0-9._~+/=-]{4,}", re.IGNORECASE)
_QUERY_SECRET = re.compile(
    r"([?&](?:access_token|token|api_key|apikey|key|password|sslpassword|secret|signature|sig)=)"
    r"[^&#\s]+",
    re.IGNORECASE,
)
# `password=...`, `"api_key": "..."` inside free text (f-strings, reprs of models, exceptions).
_ASSIGNMENT = re.compile(
    r"\b(password|passwd|secret|token|api[_-]?key|authorization)(['\"]?\s*[=:]\s*['\"]?)"
    r"(?!Bearer\b|Basic\b|\[REDACTED\])[^\s,'\"&}]+",
    re.IGNORECASE,
)
_USERINFO = re.compile(r"(\b[a-z][a-z0-9+.-]*://[^:/@\s]*:)[^@\s/]+@", re.IGNORECASE)
_EMAIL = re.compile(r"\b([A-Za-z0-9])[A-Za-z0-9._%+-]*@([A-Za-z0-9.-]+\.[A-Za-z]{2,})\b")
_CARD = re.compile(r"(?<![\d-])[2-6](?:[ -]?\d){12,18}(?![\d-])")
_KNOWN_TOKEN = re.compile(
    r"\b(?:gh[pousr]_[A-Za-z0-9]{20,}|github_pat_\w{20,}|sk-[A-Za-z0-9_-]{16,}"
    r"|xox[abprs]-[A-Za-z0-9-]{10,}|AKIA[0-9A-Z]{16}|eyJ[\w-]{8,}\.[\w-]{8,}\.[\w-]{8,})"
)
_RANDOM_RUN = re.compile(r"(?<![A-Za-z0-9+/_=-])[A-Za-z0-9+/_=-]{24,}(?![A-Za-z0-9+/_=-])")
_SECRET_ENV = re.compile(
    r"(TOKEN|PASSWORD|PASSWD|SECRET|API_?KEY|PRIVATE_?KEY|KEY_DATA|CREDENTIAL|ENCRYPTION_KEYS)"
)

# Structural keys Lanes itself adds; never redacted even though e.g. "token" might match a
# future field name by accident.
_KEEP = frozenset({"event", "level", "logger", "timestamp", "trace_id", "span_id", "service"})


def _secret_key(key: object) -> bool:
    if not isinstance(key, str) or key in _KEEP:
        return False
    return bool(_SECRET_KEY.search(key.lower().replace("_", "").replace("-", "")))


def _luhn(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        n = int(ch)
        if i % 2:
            n = n * 2 - 9 if n > 4 else n * 2
        total += n
    return total % 10 == 0


def _card(match: re.Match[str]) -> str:
    digits = re.sub(r"[ -]", "", match.group(0))
    return REDACTED if 13 <= len(digits) <= 19 and _luhn(digits) else match.group(0)


def _random_looking(match: re.Match[str]) -> str:
    run = match.group(0)
    upper = sum(c.isupper() for c in run)
    lower = sum(c.islower() for c in run)
    digits = sum(c.isdigit() for c in run)
    if upper and lower and digits and (upper + digits) / len(run) >= 0.3:
        return REDACTED
    return run


@lru_cache(maxsize=1)
def environment_secrets() -> tuple[str, ...]:
    """Values of this process's secret environment variables, longest first (read once;
    ``environment_secrets.cache_clear()`` after changing the environment)."""
    found: set[str] = set()
    for name, value in os.environ.items():
        upper = name.upper()
        if upper.endswith("DATABASE_URL"):
            match = re.search(r"://[^:/@\s]*:([^@\s/]+)@", value)
            if match:
                found.add(match.group(1))
        elif upper.endswith("ENCRYPTION_KEYS"):
            for entry in value.split(","):
                found.add(entry.partition(":")[2].strip())
        elif _SECRET_ENV.search(upper):
            found.add(value.strip())
    return tuple(sorted((s for s in found if len(s) >= 8), key=len, reverse=True))


def redact_text(text: str) -> str:
    """``text`` with credentials, card numbers and tokens removed and emails masked."""
    for secret in environment_secrets():
        if secret in text:
            text = text.replace(secret, REDACTED)
    text = _USERINFO.sub(lambda m: f"{m.group(1)}***@", text)
    text = _BEARER.sub(lambda m: f"{m.group(1)} {REDACTED}", text)
    text = _ASSIGNMENT.sub(lambda m: f"{m.group(1)}{m.group(2)}{REDACTED}", text)
    text = _QUERY_SECRET.sub(lambda m: f"{m.group(1)}{REDACTED}", text)
    text = _KNOWN_TOKEN.sub(REDACTED, text)
    text = _RANDOM_RUN.sub(_random_looking, text)
    text = _CARD.sub(_card, text)
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


def redact_url(url: Any) -> str:
    """A URL (text or SQLAlchemy ``URL``) safe for logs: password and credential-like query
    values replaced by ``***``."""
    if not isinstance(url, str):
        url = url.render_as_string(hide_password=True)
    url = _USERINFO.sub(lambda m: f"{m.group(1)}***@", url)
    return _QUERY_SECRET.sub(lambda m: f"{m.group(1)}***", url)


def redact_exception(err: BaseException) -> None:
    """Redact, in place, the message of ``err`` and of every exception it was raised from.

    Temporal turns an activity's exception (message, then its ``__cause__`` chain) into the
    failure stored in the history; this runs before that. Messages come from ``args`` (or a
    Temporal ``FailureError``'s ``message``); an exception whose ``__str__`` ignores its args
    is left as it is.
    """
    seen: set[int] = set()
    current: BaseException | None = err
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        message = getattr(current, "_message", None)
        if isinstance(message, str):  # temporalio.exceptions.FailureError
            current._message = redact_text(message)  # type: ignore[attr-defined]
        if current.args and any(isinstance(a, str) for a in current.args):
            current.args = tuple(redact_text(a) if isinstance(a, str) else a for a in current.args)
        current = current.__cause__ or current.__context__


def redact_processor(_: Any, __: str, event_dict: MutableMapping[str, Any]) -> Any:
    """structlog processor: :func:`redact` every field of the event."""
    return {k: REDACTED if _secret_key(k) else redact(v) for k, v in event_dict.items()}


class _HideSdkPayloads(logging.Filter):
    """Replace the protobuf messages and detail values the SDK's DEBUG lines print."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno <= logging.DEBUG and isinstance(record.args, tuple):
            record.args = tuple(_hidden(a) for a in record.args)
        return True


def _hidden(arg: Any) -> Any:
    if hasattr(arg, "SerializeToString"):  # a protobuf message: activations, completions
        return f"<{type(arg).__name__}: payloads hidden>"
    if isinstance(arg, (list, tuple, dict)):  # heartbeat details
        return "<payloads hidden>"
    return arg


_SDK_LOGGERS = ("temporalio.worker._workflow", "temporalio.worker._activity")


def hide_sdk_payloads() -> None:
    """Keep the SDK's DEBUG logging from printing payloads (activations, completions,
    heartbeat details) in clear; idempotent."""
    for name in _SDK_LOGGERS:
        logger = logging.getLogger(name)
        if not any(isinstance(f, _HideSdkPayloads) for f in logger.filters):
            logger.addFilter(_HideSdkPayloads())
