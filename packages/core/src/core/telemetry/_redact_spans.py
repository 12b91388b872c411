"""Redaction for spans: what an exporter sees has passed :mod:`core.redact`.

A finished span is read-only, so :class:`RedactingSpanProcessor` wraps the exporting processor
and hands it a redacted copy: attribute values (an ``http.url`` with a token in its query, a
``db.statement``), event attributes (``exception.message``, ``exception.stacktrace``) and the
status description. Span names and ids are kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Status

from core.redact import REDACTED, redact_text

__all__ = ["RedactingSpanProcessor", "redacted_span"]

_SECRET_ATTRIBUTE = ("password", "token", "secret", "authorization", "api_key", "apikey")


def _value(key: str, value: Any) -> Any:
    if any(s in key.lower() for s in _SECRET_ATTRIBUTE):
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, (list, tuple)):
        return tuple(redact_text(v) if isinstance(v, str) else v for v in value)
    return value


def _attributes(attributes: Mapping[str, Any] | None) -> dict[str, Any]:
    return {k: _value(k, v) for k, v in (attributes or {}).items()}


def redacted_span(span: ReadableSpan) -> ReadableSpan:
    """A copy of ``span`` with every attribute, event attribute and status text redacted."""
    description = span.status.description
    return ReadableSpan(
        name=span.name,
        context=span.context,
        parent=span.parent,
        resource=span.resource,
        attributes=_attributes(span.attributes),
        events=[
            Event(e.name, _attributes(e.attributes), timestamp=e.timestamp) for e in span.events
        ],
        links=span.links,
        kind=span.kind,
        status=Status(span.status.status_code, description and redact_text(description)),
        start_time=span.start_time,
        end_time=span.end_time,
        instrumentation_scope=span.instrumentation_scope,
    )


class RedactingSpanProcessor(SpanProcessor):
    """Wraps ``inner`` (a batch or simple processor with its exporter): it gets redacted spans."""

    def __init__(self, inner: SpanProcessor) -> None:
        self._inner = inner

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._inner.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        self._inner.on_end(redacted_span(span))

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._inner.force_flush(timeout_millis)
