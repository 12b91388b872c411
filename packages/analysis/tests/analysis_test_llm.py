"""A loopback server speaking the OpenAI chat-completions API, for the analysis tests and bench.

It answers ``POST /v1/chat/completions`` the way OpenAI does for structured output: a tool call
to the output tool the request offers (pydantic-ai's ``final_result``), arguments as JSON, with a
``usage`` block. Tests script failures ahead of time with :meth:`FakeModel.fail` (429 with
``Retry-After``, 500, 401, output that does not validate) and read what it saw in
:attr:`FakeModel.requests`.
"""

from __future__ import annotations

import asyncio
import json
import re
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web

API_KEY = "sk-test-key-that-must-never-be-logged"

VALID = {
    "kind": "feat",
    "summary": "adds a file",
    "areas": ["files"],
    "languages": ["Text"],
    "size": "tiny",
    "risk": "low",
}


@dataclass
class Seen:
    at: float
    status: int
    body: dict[str, Any]


@dataclass
class FakeModel:
    delay: float = 0.0
    """Seconds every answer takes (the bench's 200 ms model)."""
    answer: dict[str, Any] = field(default_factory=lambda: dict(VALID))
    requests: list[Seen] = field(default_factory=list)
    script: list[tuple[int, dict[str, str], Any]] = field(default_factory=list)
    """Answers to give first, in order: (status, headers, body or ``"invalid"``)."""
    invalid_always: bool = False
    url: str = ""

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None

    def fail(self, status: int, headers: dict[str, str] | None = None, body: Any = None) -> None:
        """Answer the next request not yet scripted with ``status``."""
        self.script.append((status, headers or {}, body))

    @property
    def calls(self) -> int:
        return len(self.requests)

    async def start(self) -> None:
        app = web.Application()
        app.router.add_post("/v1/chat/completions", self._chat)
        app.router.add_get("/stats", self._stats)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/v1"

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _chat(self, request: web.Request) -> web.Response:
        body = await request.json()
        if request.headers.get("Authorization") != f"Bearer {API_KEY}":
            return self._seen(body, web.json_response(_error("invalid api key"), status=401))
        if self.script:
            status, headers, error = self.script.pop(0)
            if status != 200:
                answer = web.json_response(_error(error or "scripted"), status=status)
                answer.headers.update(headers)
                return self._seen(body, answer)
            if error == "invalid":
                return self._seen(body, self._completion(body, {"kind": "nonsense"}))
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.invalid_always:
            return self._seen(body, self._completion(body, {"kind": "nonsense"}))
        return self._seen(body, self._completion(body, self._answer_for(body)))

    async def _stats(self, request: web.Request) -> web.Response:
        """What a process that runs this server elsewhere needs: when each request came."""
        return web.json_response({"calls": self.calls, "at": [r.at for r in self.requests]})

    def _answer_for(self, body: dict[str, Any]) -> dict[str, Any]:
        tool = _output_tool(body)
        properties = tool["function"]["parameters"].get("properties", {}) if tool else {}
        if "review_focus" in properties:
            return {"kind": "feat", "summary": "a pull request", "risk": "low"}
        answer = dict(self.answer)
        prompt = _user_text(body)
        match = re.search(r"^Commit (\w+)", prompt, re.M)
        if match:
            answer["summary"] = f"commit {match[1][:8]}"
        return answer

    def _seen(self, body: dict[str, Any], response: web.Response) -> web.Response:
        self.requests.append(Seen(time.monotonic(), response.status, body))
        return response

    def _completion(self, body: dict[str, Any], arguments: dict[str, Any]) -> web.Response:
        tool = _output_tool(body)
        name = tool["function"]["name"] if tool else "final_result"
        n = len(self.requests)
        return web.json_response(
            {
                "id": f"chatcmpl-{n}",
                "object": "chat.completion",
                "created": int(time.time()),
                "model": body.get("model", "fake"),
                "choices": [
                    {
                        "index": 0,
                        "finish_reason": "tool_calls",
                        "message": {
                            "role": "assistant",
                            "content": None,
                            "tool_calls": [
                                {
                                    "id": f"call_{n}",
                                    "type": "function",
                                    "function": {"name": name, "arguments": json.dumps(arguments)},
                                }
                            ],
                        },
                    }
                ],
                "usage": {"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150},
            }
        )


def _output_tool(body: dict[str, Any]) -> dict[str, Any] | None:
    tools = body.get("tools") or []
    return tools[0] if tools else None


def _user_text(body: dict[str, Any]) -> str:
    for message in body.get("messages", []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, str):
                return content
            if isinstance(content, list):
                return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return ""


def _error(message: str) -> dict[str, Any]:
    return {"error": {"message": message, "type": "invalid_request_error", "code": None}}


async def _serve(delay: float) -> None:
    model = FakeModel(delay=delay)
    await model.start()
    print(model.url, flush=True)
    await asyncio.Event().wait()  # until killed


if __name__ == "__main__":
    # `python analysis_test_llm.py DELAY`: serve in a process of its own (the bench), print the
    # base URL, run until killed.
    import sys

    asyncio.run(_serve(float(sys.argv[1])))
