"""Which repository a URL names, and how to reach it.

Accepted forms (anything else is a non-retryable ``InvalidRepositoryUrl`` saying which forms work):

- a local path or ``file://`` URL of a git repository → kind ``git``, read with ``git log``;
- ``https://github.com/<owner>/<name>[.git]`` → kind ``api``, served by ``LANES_GITHUB_API_URL``
  (GitHub by default; set it for GitHub Enterprise or a test server);
- ``<any http(s) base>/repos/<owner>/<name>`` → kind ``api``, that API directly (the form
  GitHub's own ``url`` fields use). The token is still sent only to ``LANES_GITHUB_API_URL``'s
  origin, so a URL naming another host never receives it.

The stored URL is canonical (absolute ``file://`` path; no trailing slash or ``.git``), so two
spellings of one repository are one row.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlsplit

from sync.errors import invalid_url

__all__ = ["Location", "locate"]

_GITHUB_WEB_HOSTS = {"github.com", "www.github.com"}
_API_PATH = re.compile(r"^(?P<prefix>.*)/repos/(?P<owner>[^/]+)/(?P<name>[^/]+)$")
_WEB_PATH = re.compile(r"^/(?P<owner>[^/]+)/(?P<name>[^/]+?)(?:\.git)?$")


@dataclass(frozen=True)
class Location:
    """A repository URL, understood."""

    url: str
    """Canonical form, the repository's natural key."""
    kind: str
    """``git`` or ``api``."""
    path: Path | None = None
    """The working tree or bare repository (git)."""
    owner: str | None = None
    name: str | None = None

    def api_url(self, api_base: str) -> str:
        """The API's URL of this repository (``<base>/repos/<owner>/<name>``)."""
        if self.kind != "api":
            raise ValueError(f"{self.url} is not an API repository")
        if urlsplit(self.url).hostname in _GITHUB_WEB_HOSTS:
            return f"{api_base.rstrip('/')}/repos/{self.owner}/{self.name}"
        return self.url


def locate(url: str) -> Location:
    """Understand ``url``; raises a non-retryable ``InvalidRepositoryUrl`` when it cannot."""
    raw = url.strip()
    if not raw:
        raise invalid_url("repository URL is empty; give a local git path or an https:// URL")
    parts = urlsplit(raw)
    if parts.scheme in ("http", "https"):
        path = parts.path.rstrip("/")
        if parts.hostname in _GITHUB_WEB_HOSTS and (web := _WEB_PATH.match(path)):
            owner, name = web["owner"], web["name"]
            return Location(f"https://github.com/{owner}/{name}", "api", owner=owner, name=name)
        if api := _API_PATH.match(path):
            canonical = f"{parts.scheme}://{parts.netloc}{path}"
            return Location(canonical, "api", owner=api["owner"], name=api["name"])
        raise invalid_url(
            f"cannot sync {raw!r}: expected https://github.com/<owner>/<name> or "
            "<api base>/repos/<owner>/<name> (set LANES_GITHUB_API_URL for GitHub Enterprise)"
        )
    if parts.scheme == "file":
        local = Path(unquote(parts.path))
    elif parts.scheme == "" or (len(parts.scheme) == 1 and raw[1:3] in (":\\", ":/")):
        local = Path(raw).expanduser()
    else:
        raise invalid_url(
            f"cannot sync {raw!r}: scheme {parts.scheme!r} is not supported; use a local path, "
            "file://, or an https:// GitHub-compatible API URL"
        )
    if not local.is_absolute():
        local = local.resolve()
    return Location(local.as_uri(), "git", path=local)
