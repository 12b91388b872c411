"""Templates shipped in the package: a subject, a text part and an autoescaped HTML part each.

A template is a folder under ``mail/templates/<name>/`` with ``subject.txt``, ``body.txt`` and
``body.html``, plus a pydantic model here that its context must satisfy. The model is checked
before anything renders, so a missing or mistyped field is a non-retryable ``InvalidMessage``
naming the field, never a half-rendered email. Rendering uses ``StrictUndefined`` for the same
reason. Autoescaping is on for ``.html`` only: the text part is not HTML.

Every template also sees ``unsubscribe_url`` (the same link as the ``List-Unsubscribe`` header).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import jinja2
import pydantic

from mail.errors import invalid_message

__all__ = [
    "TEMPLATES",
    "NewsletterContext",
    "PasswordResetContext",
    "Rendered",
    "WelcomeContext",
    "render",
    "validate_context",
]


class WelcomeContext(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(min_length=1)
    product: str = "Lanes"
    login_url: pydantic.HttpUrl


class PasswordResetContext(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    name: str = pydantic.Field(min_length=1)
    reset_url: pydantic.HttpUrl
    expires_in_minutes: int = pydantic.Field(default=60, ge=1)


class NewsletterContext(pydantic.BaseModel):
    model_config = pydantic.ConfigDict(extra="forbid")

    title: str = pydantic.Field(min_length=1)
    paragraphs: list[str] = pydantic.Field(min_length=1)
    name: str | None = None
    """The recipient's name; campaigns usually set it per recipient."""


TEMPLATES: dict[str, type[pydantic.BaseModel]] = {
    "welcome": WelcomeContext,
    "password_reset": PasswordResetContext,
    "newsletter": NewsletterContext,
}
"""Template name → the model its context must satisfy."""


@dataclass(frozen=True)
class Rendered:
    subject: str
    text: str
    html: str | None


def validate_context(template: str, context: dict[str, Any]) -> pydantic.BaseModel:
    """The validated context, or a non-retryable ``InvalidMessage`` saying what is wrong."""
    model = TEMPLATES.get(template)
    if model is None:
        known = ", ".join(sorted(TEMPLATES))
        raise invalid_message(f"unknown template {template!r}; known templates: {known}")
    try:
        return model.model_validate(context)
    except pydantic.ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'context'}: {e['msg']}" for e in err.errors()
        )
        raise invalid_message(f"invalid context for template {template!r}: {problems}") from None


def render(template: str, context: dict[str, Any], *, unsubscribe_url: str) -> Rendered:
    """Validate ``context`` against the template's model and render its three parts."""
    values = validate_context(template, context).model_dump(mode="json")
    values["unsubscribe_url"] = unsubscribe_url
    env = _environment()
    try:
        subject = env.get_template(f"{template}/subject.txt").render(values)
        text = env.get_template(f"{template}/body.txt").render(values)
        html = env.get_template(f"{template}/body.html").render(values)
    except jinja2.TemplateError as err:
        raise invalid_message(f"template {template!r} failed to render: {err}") from None
    # A subject is one header line: newlines would break the header (or inject one).
    return Rendered(subject=" ".join(subject.split()), text=text, html=html)


@lru_cache(maxsize=1)
def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.PackageLoader("mail", "templates"),
        autoescape=jinja2.select_autoescape(["html"], default_for_string=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
    )
