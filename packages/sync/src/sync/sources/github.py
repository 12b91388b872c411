"""A GitHub-compatible REST API: requests with the token, conditional GETs, errors, rate limits.

**Errors.** 401, and a 403 that is not a rate limit, are ``AuthError``; 404 is ``NotFoundError``
(both non-retryable). 5xx answers and timeouts/connection failures are raised as retryable
errors, retried under the activity's policy. Other 4xx answers are non-retryable
(``GitHubRequestError``): the same request will be refused again.

**Rate limits** — a 403 or 429 with ``x-ratelimit-remaining: 0`` and ``x-ratelimit-reset``
(primary limit), or with ``retry-after`` (secondary limit); a bare 429 waits 60 s as GitHub asks.
The request is retried after the delay the server names, *inside the same attempt*: the activity
sleeps, heartbeating its unchanged cursor every second, and no retry attempt is used up. A retry
with ``ApplicationError(next_retry_delay=...)`` would honour the delay too, but it counts as an
attempt, so four rate-limited pages would exhaust the standard policy. Only a delay longer than
``LANES_GITHUB_MAX_RATE_LIMIT_WAIT`` (default 30 min) ends the attempt that way
(``RateLimited``, next retry after the server's delay), so a worker is not held for hours.

**The token** (``LANES_GITHUB_TOKEN``) is sent only to the origin of ``LANES_GITHUB_API_URL``:
a repository URL or a ``Link`` header naming another host never receives it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from datetime import timedelta
from types import TracebackType
from typing import Any, Self
from urllib.parse import urlsplit

import httpx
from temporalio.exceptions import ApplicationError

from sync.errors import auth_error, not_found
from sync.settings import SyncSettings

__all__ = ["GitHubApi", "rate_limit_delay"]

_SECONDARY_DEFAULT_WAIT = 60.0  # GitHub: "wait at least one minute" without retry-after


def rate_limit_delay(response: httpx.Response, now: float | None = None) -> float | None:
    """Seconds the server asks to wait, or ``None`` when ``response`` is not a rate limit."""
    if response.status_code not in (403, 429):
        return None
    headers = response.headers
    retry_after = headers.get("retry-after")
    if retry_after is not None and retry_after.strip().isdigit():
        return float(retry_after)
    if headers.get("x-ratelimit-remaining") == "0" and headers.get("x-ratelimit-reset"):
        reset = float(headers["x-ratelimit-reset"])
        return max(reset - (time.time() if now is None else now), 0.0)
    if response.status_code == 429:
        return _SECONDARY_DEFAULT_WAIT
    return None


class GitHubApi:
    """One client per sync: ``async with GitHubApi(settings, heartbeat=...) as api``."""

    def __init__(self, settings: SyncSettings, *, heartbeat: Callable[[], None]) -> None:
        self._settings = settings
        self._heartbeat = heartbeat
        self._origin = _origin(settings.github_api_url)
        self._client = httpx.AsyncClient(
            timeout=settings.github_timeout.total_seconds(),
            headers={
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": "2022-11-28",
                "User-Agent": "lanes-sync",
            },
        )
        self.requests = 0
        """Requests sent (a rate-limited one counts each time it is sent)."""

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self._client.aclose()

    async def get(
        self,
        url: str,
        *,
        params: Mapping[str, Any] | None = None,
        etag: str | None = None,
        empty_ok: bool = False,
    ) -> httpx.Response:
        """GET ``url``; returns a 200 or (with ``etag``) a 304 response, raises on the rest.

        ``empty_ok``: also return a 409, GitHub's answer to listing commits of an empty repository.
        """
        headers = {}
        if etag:
            headers["If-None-Match"] = etag
        token = self._settings.github_token
        if token is not None and _origin(url) == self._origin:
            headers["Authorization"] = f"Bearer {token.get_secret_value()}"
        while True:
            self.requests += 1
            try:
                response = await self._client.get(url, params=params, headers=headers)
            except httpx.TimeoutException as err:
                raise ApplicationError(
                    f"GET {_redacted(url)} timed out ({type(err).__name__}); retried",
                    type="GitHubTimeout",
                ) from None
            except httpx.TransportError as err:
                raise ApplicationError(
                    f"GET {_redacted(url)} failed: {type(err).__name__}: {err}; retried",
                    type="GitHubUnavailable",
                ) from None
            delay = rate_limit_delay(response)
            if delay is None:
                if empty_ok and response.status_code == 409:
                    return response
                return self._checked(url, response)
            await self._wait_out(url, delay)

    async def _wait_out(self, url: str, delay: float) -> None:
        limit = self._settings.github_max_rate_limit_wait.total_seconds()
        if delay > limit:
            raise ApplicationError(
                f"rate limited by {self._origin} for {delay:.0f}s, longer than "
                f"LANES_GITHUB_MAX_RATE_LIMIT_WAIT ({limit:.0f}s); retrying after the delay",
                type="RateLimited",
                next_retry_delay=timedelta(seconds=delay),
            )
        deadline = time.monotonic() + delay
        while (left := deadline - time.monotonic()) > 0:
            self._heartbeat()  # same cursor: the attempt is alive, just waiting
            await asyncio.sleep(min(left, 1.0))

    def _checked(self, url: str, response: httpx.Response) -> httpx.Response:
        status = response.status_code
        if status in (200, 304):
            return response
        where = f"GET {_redacted(url)}"
        if status in (401, 403):
            raise auth_error(
                f"{where}: {status} {response.reason_phrase} — the API refused the credentials; "
                "check LANES_GITHUB_TOKEN (set, not expired, with access to this repository)"
            )
        if status == 404:
            raise not_found(
                f"{where}: 404 Not Found — no such repository, or LANES_GITHUB_TOKEN cannot see "
                "it (private repositories answer 404 without access)"
            )
        if status >= 500:
            raise ApplicationError(
                f"{where}: {status} {response.reason_phrase}; retried", type="GitHubServerError"
            )
        raise ApplicationError(
            f"{where}: {status} {response.reason_phrase}: {response.text[:200]}",
            type="GitHubRequestError",
            non_retryable=True,
        )


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc.lower()


def _redacted(url: str) -> str:
    # Query strings may carry tokens in some setups; the path is enough to say what failed.
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"
