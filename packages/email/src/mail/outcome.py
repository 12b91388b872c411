"""What became of one send: ``send_email``'s result and each campaign recipient's record.

Its own module so the activities that return it declare it without loading what delivering
needs (SQLAlchemy, the SMTP client, the templates): see :func:`core.activities.preload`.
Workflow-safe (no I/O).
"""

from __future__ import annotations

from typing import Literal

import pydantic

__all__ = ["DeliveryOutcome"]


class DeliveryOutcome(pydantic.BaseModel):
    """What became of one send; recorded under its key."""

    status: Literal["sent", "skipped", "failed"]
    to: str
    message_id: str
    subject: str
    reason: str | None = None
    """Why it was skipped or failed."""
    smtp_code: int | None = None
