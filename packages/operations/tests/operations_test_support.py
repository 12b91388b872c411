"""What the operations tests share: a scriptable loopback HTTP server, fast retry options."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from temporalio import activity

from core import activities, domains
from operations.webhooks import signing

FAST_WEBHOOK_RETRY = {
    "retry_policy": {"name": "webhook", "initial_interval": 0.3, "backoff_coefficient": 1.0}
}
"""The webhook policy (6 attempts, its non-retryable rules) with 0.3 s between attempts."""


@dataclass
class Received:
    path: str
    method: str
    headers: dict[str, str]
    body: bytes
    at: float
    """``time.monotonic()`` on arrival."""
    verified: bool | None = None
    """Signature check against ``Receiver.secret`` (None when no secret is set)."""


@dataclass
class Answer:
    status: int = 200
    body: str = "ok"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0


class Receiver:
    """Answers each request with the next scripted :class:`Answer` (then ``default``) and
    records it; verifies Standard Webhooks signatures when ``secret`` is set."""

    def __init__(self) -> None:
        self.script: list[Answer | int] = []
        self.default: Answer = Answer()
        self.routes: dict[str, Answer] = {}
        """Fixed answer per path (uptime targets), ahead of the script."""
        self.secret: str | None = None
        self.received: list[Received] = []
        self._runner: web.AppRunner | None = None
        self.port = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self) -> None:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        got = Received(request.path, request.method, dict(request.headers), body, time.monotonic())
        if self.secret is not None and "webhook-id" in request.headers:
            got.verified = signing.verify(
                self.secret,
                request.headers["webhook-id"],
                request.headers["webhook-timestamp"],
                request.headers["webhook-signature"],
                body,
                now=int(time.time()),
            )
        self.received.append(got)
        answer: Any = self.routes.get(request.path)
        if answer is None:
            answer = self.script.pop(0) if self.script else self.default
        if isinstance(answer, int):
            answer = Answer(status=answer)
        if answer.delay:
            await asyncio.sleep(answer.delay)
        return web.Response(status=answer.status, text=answer.body, headers=answer.headers)


SENT_EMAILS: list[dict[str, Any]] = []


async def _send_email(input: dict[str, Any]) -> dict[str, Any]:
    SENT_EMAILS.append(input)
    return {"accepted": True}


def _stand_in_for_send_email() -> Any:
    """The stand-in for the email domain's ``send_email``, dispatched by name like the real one.

    When the email domain is installed its activities are loaded first (through core's discovery,
    not an import by name), so the real declaration owns the name and its input model validates
    what ``notify`` sends; the stand-in then only replaces it on the test worker. Without the
    email domain the stand-in is declared in Lanes' registry itself."""
    if "email" in domains.installed():
        domains.load("email")
    if activities.config_of("send_email") is not None:
        return activity.defn(name="send_email")(_send_email)
    return activities.defn(name="send_email", queue="email")(_send_email)


SEND_EMAIL_STANDIN: Any = _stand_in_for_send_email()


class Outbox:
    """What the stand-in ``send_email`` was asked to send since this outbox was made."""

    def __init__(self) -> None:
        SENT_EMAILS.clear()
        self.sent = SENT_EMAILS
        self.activity = SEND_EMAIL_STANDIN

    async def wait_for(self, count: int, timeout: float = 60) -> list[dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while len(self.sent) < count:
            if time.monotonic() > deadline:
                raise AssertionError(f"{len(self.sent)} emails after {timeout}s, wanted {count}")
            await asyncio.sleep(0.05)
        return self.sent


async def wait_until(predicate: Any, timeout: float = 30, what: str = "the condition") -> Any:
    """Poll an async predicate until it returns something truthy."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


NOTIFIED: list[Any] = []


@activity.defn(name="notify")
async def notify_standin(input: Any) -> dict[str, int]:
    """Stands in for ``notify`` where the test is about when a workflow notifies, not how."""
    NOTIFIED.append(input)
    return {"emails": 0, "webhooks": 0}
