"""What every ``lanes`` command group shares: the one-line error and the async runner.

Every failure a person can cause ends in one line on stderr (``lanes: error: ...``) that says what
was wrong and what to do, and exit code 1; a wrong command line is click's usage error, exit 2.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, TypeVar

import click
from temporalio.service import RPCError

from core.errors import EXPECTED_ERRORS

__all__ = ["LanesError", "run_async"]

T = TypeVar("T")


class LanesError(click.ClickException):
    """A one-line error for the person at the terminal (exit 1)."""

    exit_code = 1

    def show(self, file: Any = None) -> None:
        click.echo(f"lanes: error: {self.format_message()}", err=True)


def run_async(
    coro_fn: Callable[..., Coroutine[Any, Any, T]],
    *,
    cleanup: Callable[[], Awaitable[None]] | None = None,
) -> Callable[..., T]:
    """Run an async command on a fresh loop and turn expected failures into one clear line."""

    @functools.wraps(coro_fn)
    def wrapper(*args: Any, **kwargs: Any) -> T:
        async def body() -> T:
            try:
                return await coro_fn(*args, **kwargs)
            finally:
                if cleanup is not None:
                    await cleanup()

        try:
            return asyncio.run(body())
        except EXPECTED_ERRORS as err:
            raise LanesError(str(err)) from None
        except RPCError as err:
            raise LanesError(f"the Temporal server refused the call: {err.message}") from None

    return wrapper
