"""Pure rules: the built-in analyzer's heuristics, Retry-After parsing, and the domain boundary."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from analysis.analyzers.builtin import commit_insight
from analysis.analyzers.llm import rate_limit_delay
from analysis.schema import CommitData

ROOT = Path(__file__).resolve().parents[3]


def _commit(message: str, paths: list[str], additions: int = 5, deletions: int = 0) -> CommitData:
    return CommitData(
        repository="r",
        sha="abcd1234",
        author_email="a@example.com",
        authored_at=datetime(2026, 1, 1, tzinfo=UTC),
        message=message,
        paths=paths,
        additions=additions,
        deletions=deletions,
    )


@pytest.mark.parametrize(
    ("message", "paths", "kind", "areas", "languages", "size", "risk"),
    [
        ("feat(auth): login", ["api/auth.py"], "feat", ["auth", "api"], ["Python"], "tiny", "low"),
        ("Fix crash on empty list", ["web/list.ts"], "fix", ["web"], ["TypeScript"], "tiny", "low"),
        ("update things", ["tests/test_a.py"], "test", ["tests"], ["Python"], "tiny", "low"),
        ("tidy", ["README.md"], "docs", ["(root)"], ["Markdown"], "tiny", "low"),
        ("bump deps", ["pyproject.toml"], "chore", ["(root)"], ["TOML"], "tiny", "medium"),
        ("feat!: new schema", ["db/migrations/1.sql"], "feat", ["db"], ["SQL"], "tiny", "high"),
    ],
)
def test_the_built_in_analyzer_reads_kind_areas_languages_size_and_risk(
    message: str,
    paths: list[str],
    kind: str,
    areas: list[str],
    languages: list[str],
    size: str,
    risk: str,
) -> None:
    insight = commit_insight(_commit(message, paths))
    assert (insight.kind, insight.areas, insight.languages) == (kind, areas, languages)
    assert (insight.size, insight.risk) == (size, risk)


def test_sizes_follow_the_lines_changed_and_a_huge_change_is_risky() -> None:
    sizes = [commit_insight(_commit("x", ["a.py"], n, 0)).size for n in (10, 50, 250, 1000, 1001)]
    assert sizes == ["tiny", "small", "medium", "large", "huge"]
    assert commit_insight(_commit("x", ["a.py"], 5000, 0)).risk == "high"
    assert commit_insight(_commit("x", ["a.py"], 500, 0)).risk == "medium"


def test_the_summary_is_the_subject_without_its_type() -> None:
    insight = commit_insight(_commit("fix(api): handle  empty\n\nlong body", ["a.py"]))
    assert insight.summary == "handle empty"


def test_retry_after_comes_from_the_headers() -> None:
    assert rate_limit_delay(429, {"Retry-After": "7"}, default=10) == 7.0
    assert rate_limit_delay(429, {"retry-after-ms": "1500"}, default=10) == 1.5
    date = "Thu, 01 Jan 2026 00:00:30 GMT"
    now = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    assert rate_limit_delay(429, {"Retry-After": date}, default=10, now=now) == 30.0
    assert rate_limit_delay(429, {}, default=10) == 10.0  # a 429 naming no delay
    assert rate_limit_delay(500, {"Retry-After": "5"}, default=10) is None
    assert rate_limit_delay(401, None, default=10) is None


@pytest.mark.parametrize(("package", "other"), [("analysis", "sync"), ("sync", "analysis")])
def test_the_domains_never_import_each_other(package: str, other: str) -> None:
    pattern = re.compile(rf"^\s*(from|import)\s+{other}(\.|\s|$)", re.M)
    sources = list((ROOT / "packages" / package / "src" / package).rglob("*.py"))
    assert sources
    offenders = [str(p) for p in sources if pattern.search(p.read_text())]
    assert offenders == []


def test_a_rate_limit_longer_than_the_cap_ends_the_attempt_with_the_servers_delay() -> None:
    from pydantic_ai.exceptions import ModelHTTPError

    from analysis.analyzers.llm import LlmAnalyzer
    from analysis.settings import AnalysisSettings

    analyzer = LlmAnalyzer(
        AnalysisSettings(llm_model="m", llm_max_rate_limit_wait=60), asyncio.Semaphore(1)
    )
    long = ModelHTTPError(429, "m", body="slow down", headers={"Retry-After": "3600"})
    outcome, error, wait = analyzer.classify(long)
    assert (outcome, wait, error.type, error.non_retryable) == (
        "rate_limited",
        None,
        "RateLimited",
        False,
    )
    assert error.next_retry_delay == timedelta(hours=1)
    short = ModelHTTPError(429, "m", headers={"Retry-After": "3"})
    assert analyzer.classify(short)[2] == 3.0
    for status, retried in ((500, True), (503, True), (400, False), (403, False), (404, False)):
        error = analyzer.classify(ModelHTTPError(status, "m"))[1]
        assert error.non_retryable is not retried, status


def test_sync_hands_over_the_paths_git_reports_renames_as_their_new_path() -> None:
    from sync.sources.git import numstat_paths  # tests may use both domains; src never does

    text = "3\t1\tsrc/a.py\n-\t-\tlogo.png\n0\t7\told => new.txt\n1\t1\tpkg/{old => new}/m.py\n\n"
    assert numstat_paths(text) == ["src/a.py", "logo.png", "new.txt", "pkg/new/m.py"]
