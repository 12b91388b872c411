"""A loopback HTTP server that behaves like GitHub's REST API, for the sync tests.

Serves ``/repos/<owner>/<name>/commits`` and ``/pulls`` with ``per_page``/``page`` paging and
``Link`` headers, ETags and 304s, an optional required token (401 without it), 404 for unknown
repositories, and on request: 500s, primary (403 + ``x-ratelimit-reset``) and secondary (429 +
``retry-after``) rate limits, and a delay per response. Every request is logged, so tests can
count what the client asked for.
"""

from __future__ import annotations

import asyncio
import hashlib
import math
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from aiohttp import web

EPOCH = datetime(2025, 1, 1, tzinfo=UTC)


@dataclass
class FakeRepo:
    commits: list[dict[str, Any]] = field(default_factory=list)  # newest first
    pulls: dict[int, dict[str, Any]] = field(default_factory=dict)


@dataclass
class Logged:
    kind: str  # "commits" or "pulls"
    page: int
    status: int
    at: float
    conditional: bool


@dataclass
class Fault:
    kind: str
    page: int
    status: int
    times: int
    reset_in: float = 0.0
    secondary: bool = False


class FakeGitHub:
    def __init__(self) -> None:
        self.repos: dict[tuple[str, str], FakeRepo] = {}
        self.token: str | None = None
        self.delay = 0.0
        self.log: list[Logged] = []
        self.faults: list[Fault] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    # -- data -------------------------------------------------------------------------------
    def add_repo(self, owner: str, name: str, *, commits: int = 0, pulls: int = 0) -> FakeRepo:
        repo = self.repos[(owner, name)] = FakeRepo()
        self.push(owner, name, commits)
        for number in range(1, pulls + 1):
            self.touch_pull(owner, name, number)
        return repo

    def push(self, owner: str, name: str, count: int) -> list[str]:
        repo = self.repos[(owner, name)]
        new = []
        for _ in range(count):
            i = len(repo.commits) + 1
            sha = hashlib.sha1(f"{owner}/{name}#{i}".encode()).hexdigest()
            when = (EPOCH + timedelta(minutes=i)).isoformat().replace("+00:00", "Z")
            repo.commits.insert(
                0,
                {
                    "sha": sha,
                    "commit": {
                        "author": {
                            "name": f"Dev {i % 5}",
                            "email": f"dev{i % 5}@x.io",
                            "date": when,
                        },
                        "committer": {"name": "CI", "email": "ci@x.io", "date": when},
                        "message": f"commit {i}",
                    },
                },
            )
            new.append(sha)
        return new

    def touch_pull(self, owner: str, name: str, number: int, *, merged: bool = False) -> None:
        """Create pull request ``number`` or update it (now its most recently updated)."""
        repo = self.repos[(owner, name)]
        stamp = max([p["_seq"] for p in repo.pulls.values()] + [0]) + 1
        when = (EPOCH + timedelta(hours=stamp)).isoformat().replace("+00:00", "Z")
        pull = repo.pulls.get(number) or {
            "number": number,
            "title": f"PR {number}",
            "state": "open",
            "user": {"login": f"dev{number % 5}"},
            "created_at": when,
            "merged_at": None,
        }
        pull.update(_seq=stamp, updated_at=when)
        if merged:
            pull.update(state="closed", merged_at=when)
        repo.pulls[number] = pull

    def fail(self, kind: str, page: int, status: int = 500, times: int = 1) -> None:
        self.faults.append(Fault(kind, page, status, times))

    def rate_limit(self, kind: str, page: int, reset_in: float, *, secondary: bool = False) -> None:
        status = 429 if secondary else 403
        self.faults.append(Fault(kind, page, status, 1, reset_in=reset_in, secondary=secondary))

    def requests(self, kind: str | None = None, page: int | None = None) -> list[Logged]:
        return [
            r
            for r in self.log
            if (kind is None or r.kind == kind) and (page is None or r.page == page)
        ]

    # -- server -----------------------------------------------------------------------------
    async def start(self) -> str:
        app = web.Application()
        app.router.add_get("/repos/{owner}/{name}/{kind:commits|pulls}", self._list)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"
        return self.url

    async def stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _list(self, request: web.Request) -> web.Response:
        kind = request.match_info["kind"]
        page = int(request.query.get("page", "1"))
        per_page = int(request.query.get("per_page", "30"))
        conditional = "If-None-Match" in request.headers

        def answer(response: web.Response) -> web.Response:
            self.log.append(Logged(kind, page, response.status, time.time(), conditional))
            return response

        if self.delay:
            await asyncio.sleep(self.delay)
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return answer(web.json_response({"message": "Bad credentials"}, status=401))
        repo = self.repos.get((request.match_info["owner"], request.match_info["name"]))
        if repo is None:
            return answer(web.json_response({"message": "Not Found"}, status=404))
        for fault in self.faults:
            if fault.kind == kind and fault.page == page and fault.times > 0:
                fault.times -= 1
                return answer(self._fault_response(fault))
        if kind == "commits":
            items = repo.commits
        else:
            items = sorted(repo.pulls.values(), key=lambda p: p["_seq"], reverse=True)
            items = [{k: v for k, v in p.items() if k != "_seq"} for p in items]
        if kind == "commits" and not items:
            return answer(web.json_response({"message": "Git Repository is empty."}, status=409))
        digest = hashlib.sha1(repr((per_page, items[:1], len(items))).encode()).hexdigest()
        etag = f'"{digest}"'
        if page == 1 and request.headers.get("If-None-Match") == etag:
            return answer(web.Response(status=304, headers={"ETag": etag}))
        chunk = items[(page - 1) * per_page : page * per_page]
        headers = {"ETag": etag}
        last = max(1, math.ceil(len(items) / per_page))
        if page < last:
            base = f"{self.url}{request.path}?per_page={per_page}"
            extra = "".join(
                f"&{k}={v}" for k, v in request.query.items() if k not in ("page", "per_page")
            )
            headers["Link"] = (
                f'<{base}{extra}&page={page + 1}>; rel="next", '
                f'<{base}{extra}&page={last}>; rel="last"'
            )
        return answer(web.json_response(chunk, headers=headers))

    def _fault_response(self, fault: Fault) -> web.Response:
        if fault.reset_in and fault.secondary:
            return web.json_response(
                {"message": "You have exceeded a secondary rate limit."},
                status=429,
                headers={"retry-after": str(math.ceil(fault.reset_in))},
            )
        if fault.reset_in:
            return web.json_response(
                {"message": "API rate limit exceeded"},
                status=403,
                headers={
                    "x-ratelimit-limit": "5000",
                    "x-ratelimit-remaining": "0",
                    "x-ratelimit-reset": str(math.ceil(time.time() + fault.reset_in)),
                },
            )
        return web.json_response({"message": "Server Error"}, status=fault.status)
