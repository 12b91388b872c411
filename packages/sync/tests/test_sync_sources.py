"""The pieces under the activity: URL forms, numstat parsing, rate-limit delays, the token's
reach, the retry policy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from core.retry import retry_policy
from pydantic import SecretStr
from sync.errors import GITHUB_SYNC
from sync.settings import SyncSettings
from sync.sources.git import parse_numstat
from sync.sources.github import GitHubApi, rate_limit_delay
from sync.sources.location import locate
from sync_test_github import FakeGitHub
from temporalio.exceptions import ApplicationError


def test_repository_urls_are_understood_and_made_canonical(tmp_path: Path) -> None:
    assert locate(str(tmp_path)).url == tmp_path.as_uri()
    assert locate(tmp_path.as_uri()).url == tmp_path.as_uri()
    assert locate(str(tmp_path)).kind == "git"
    web = locate("https://github.com/acme/api.git/")
    assert (web.url, web.kind, web.owner, web.name) == (
        "https://github.com/acme/api",
        "api",
        "acme",
        "api",
    )
    assert web.api_url("https://ghe.example.com/api/v3/") == (
        "https://ghe.example.com/api/v3/repos/acme/api"
    )
    direct = locate("https://ghe.example.com/api/v3/repos/acme/api")
    assert direct.api_url("https://api.github.com") == direct.url


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("", "empty"),
        ("https://gitlab.com/acme/api", "expected https://github.com/<owner>/<name>"),
        ("ssh://git@github.com/acme/api", "scheme 'ssh' is not supported"),
    ],
)
def test_a_url_that_cannot_be_synced_is_a_non_retryable_error_saying_why(
    url: str, says: str
) -> None:
    with pytest.raises(ApplicationError) as err:
        locate(url)
    assert err.value.type == "InvalidRepositoryUrl"
    assert err.value.non_retryable
    assert says in err.value.message


def test_numstat_counts_files_and_lines_and_binary_files_as_no_lines() -> None:
    text = "3\t1\tsrc/a.py\n-\t-\tlogo.png\n0\t7\told => new.txt\n\n"
    assert parse_numstat(text) == (3, 3, 8)


def test_rate_limit_delays_come_from_the_headers() -> None:
    def response(status: int, **headers: str) -> httpx.Response:
        return httpx.Response(status, headers={k.replace("_", "-"): v for k, v in headers.items()})

    assert rate_limit_delay(response(429, retry_after="7")) == 7.0
    primary = response(403, x_ratelimit_remaining="0", x_ratelimit_reset="1000")
    assert rate_limit_delay(primary, now=998.5) == 1.5
    assert rate_limit_delay(response(429)) == 60.0  # GitHub: wait at least a minute
    assert rate_limit_delay(response(403)) is None  # a plain 403 is an auth problem
    assert rate_limit_delay(response(500, retry_after="5")) is None


def test_the_retry_policy_is_registered_and_does_not_retry_auth_or_not_found() -> None:
    assert retry_policy("github_sync") is GITHUB_SYNC
    assert GITHUB_SYNC.maximum_attempts == 4
    assert set(GITHUB_SYNC.non_retryable_error_types or ()) >= {"AuthError", "NotFoundError"}


async def test_the_token_goes_only_to_the_configured_api_origin(fake_github: FakeGitHub) -> None:
    fake_github.add_repo("acme", "big", commits=3)
    fake_github.token = "right"
    port = fake_github.url.rsplit(":", 1)[1]
    settings = SyncSettings(github_api_url=fake_github.url, github_token=SecretStr("right"))
    async with GitHubApi(settings, heartbeat=lambda: None) as api:
        ok = await api.get(f"{fake_github.url}/repos/acme/big/commits")
        assert len(ok.json()) == 3
        # The same server under another name is another origin: no token, so 401.
        with pytest.raises(ApplicationError) as refused:
            await api.get(f"http://localhost:{port}/repos/acme/big/commits")
    assert refused.value.type == "AuthError"
    assert "right" not in refused.value.message
