"""What ``dispatch`` and ``dispatch_many`` share: resolving the activity, encoding its input, and
deciding how the job runs (:func:`job_options`), once, where the job is created."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pydantic_core

from core import activities
from core.activities import ActivityConfig, ActivityOptions

__all__ = ["DispatchError", "encode_input", "job_options", "resolve_activity"]


class DispatchError(ValueError):
    """The dispatch call itself is wrong (unknown activity, bad input, no queue); nothing ran."""


def resolve_activity(activity: str | Callable[..., Any]) -> ActivityConfig | None:
    config = activities.config_of(activity)
    if config is None and not isinstance(activity, str):
        raise DispatchError(
            f"{getattr(activity, '__qualname__', activity)!r} is not a registered activity; "
            "declare it with @activities.defn or dispatch it by name with task_queue="
        )
    return config


def encode_input(config: ActivityConfig | None, input: Any) -> Any:
    """The input as plain JSON, validated first when the activity is known here."""
    if config is None:
        try:
            return pydantic_core.to_jsonable_python(input)
        except pydantic_core.PydanticSerializationError as err:
            raise DispatchError(f"input is not JSON-serialisable: {err}") from None
    try:
        value = config.validate_input(input)
    except ValueError as err:
        raise DispatchError(str(err)) from None
    if value is None:
        return None
    return activities.type_adapter(config.input_type).dump_python(value, mode="json")


def job_options(
    config: ActivityConfig | None, overrides: ActivityOptions | None, task_queue: str
) -> ActivityOptions | None:
    """How a job runs, decided here and carried in the job: the registered config + overrides,
    every field set (:meth:`ActivityConfig.resolve`). For an activity this process does not
    know, the overrides as given; the workflow fills the documented defaults."""
    if config is None:
        return overrides
    try:
        return config.resolve(overrides, task_queue=task_queue)
    except ValueError as err:
        raise DispatchError(str(err)) from None
