"""The pieces under the activity: URL forms, numstat parsing, rate-limit delays, the token's
reach, the retry policy."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr
from sync_test_git import add_commits, make_repo
from sync_test_github import FakeGitHub
from temporalio.exceptions import ApplicationError

from core.retry import retry_policy
from sync.errors import GITHUB_SYNC
from sync.settings import SyncSettings
from sync.sources.batch import Batch
from sync.sources.git import git_batches, parse_numstat
from sync.sources.github import GitHubApi, rate_limit_delay
from sync.sources.location import locate


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


async def _read(
    repo: Path, *, known_head: str | None = None, resume: dict[str, object] | None = None
) -> list[Batch]:
    batches = git_batches(repo, known_head=known_head, full=False, resume=resume, batch_size=40)
    return [b async for b in batches]


async def test_git_batches_resume_after_the_last_written_commit(tmp_path: Path) -> None:
    repo = make_repo(tmp_path / "r", 100)
    everything = await _read(repo)
    all_shas = [c["sha"] for b in everything for c in b.commits]
    assert len(all_shas) == len(set(all_shas)) == 100
    assert [len(b.commits) for b in everything] == [40, 40, 20]

    resumed = await _read(repo, resume=everything[0].cursor)
    rest = [c["sha"] for b in resumed for c in b.commits]
    assert rest == all_shas[40:]  # neither skipped nor read again


async def test_git_incremental_reads_only_new_commits_or_everything_after_a_rewrite(
    tmp_path: Path,
) -> None:
    repo = make_repo(tmp_path / "r", 50)
    [*_, last] = await _read(repo)
    new = add_commits(repo, 3)
    since = await _read(repo, known_head=last.cursor["head"])
    assert [c["sha"] for b in since for c in b.commits] == new
    rewritten = await _read(repo, known_head="0" * 40)  # the old head is gone
    assert sum(len(b.commits) for b in rewritten) == 53
