"""Decode a wrapper workflow's single JSON input by hand, so no raw start can wedge it.

``SingleActivityWorkflow`` and ``BatchWorkflow`` can be started by anyone (the UI, the ``temporal``
CLI, another SDK). Had their run methods a typed parameter, the SDK would decode the start input
before any workflow code runs, and a start with no input, two inputs or a non-JSON payload
(``binary/plain``) would fail every workflow *task*, leaving the run RUNNING forever. Taking the
raw arguments and validating them here turns each of those into a non-retryable workflow failure
that says what was wrong.
"""

from __future__ import annotations

from typing import Any, TypeVar

import pydantic
from temporalio.exceptions import ApplicationError

__all__ = ["single_input"]

M = TypeVar("M", bound=pydantic.BaseModel)


def single_input(workflow_name: str, args: tuple[Any, ...], model: type[M]) -> M:
    """The one start argument as ``model``; a non-retryable ``InvalidInput`` failure otherwise."""
    shape = f"{workflow_name} takes exactly one JSON object input ({model.__name__})"
    if len(args) != 1:
        raise ApplicationError(
            f"{shape}; got {len(args)} inputs", type="InvalidInput", non_retryable=True
        )
    value = args[0]
    if isinstance(value, model):
        return value
    if not isinstance(value, dict):
        kind = (
            "bytes (is the payload binary/plain? send JSON)"
            if isinstance(value, bytes)
            else type(value).__name__
        )
        raise ApplicationError(f"{shape}; got {kind}", type="InvalidInput", non_retryable=True)
    try:
        return model.model_validate(value)
    except pydantic.ValidationError as err:
        raise ApplicationError(
            f"{shape}; {err.error_count()} problem(s): {_short(err)}",
            type="InvalidInput",
            non_retryable=True,
        ) from None


def _short(err: pydantic.ValidationError) -> str:
    return "; ".join(
        f"{'.'.join(str(p) for p in e['loc']) or 'input'}: {e['msg']}" for e in err.errors()[:5]
    )
