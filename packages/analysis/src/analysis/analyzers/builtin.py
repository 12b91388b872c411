"""The built-in analyzer: deterministic heuristics, no model, the embedded default.

It fills the same :class:`~analysis.schema.CommitInsight` an LLM fills, from what is certain:

- **kind** — the Conventional Commits type of the subject (``fix(api)!: ...``); without one, a
  keyword of the subject (``fix``, ``docs``, ``test``...) or what the paths show (only tests,
  only docs); otherwise ``chore``.
- **areas** — the top-level folders touched (root files as ``(root)``), the conventional scope
  first; **languages** — from file extensions.
- **size** — lines added + deleted: ≤10 tiny, ≤50 small, ≤250 medium, ≤1000 large, else huge
  (files changed when the source gave no line counts).
- **risk** — high for a breaking change, a huge change, more than 20 files or a migration;
  medium for a large change or one touching build, CI or dependency files; low otherwise.
- **summary** — the subject line, cut to 120 characters.

Rows it writes carry analyzer ``builtin`` and prompt version :data:`VERSION`: a change of these
rules bumps the version, so a repository is analysed again under the new rules.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from typing import get_args

from analysis.analyzers.base import CallRecorder
from analysis.schema import (
    CommitData,
    CommitInsight,
    Kind,
    PullRequestData,
    PullRequestInsight,
    Risk,
    Size,
)

__all__ = ["VERSION", "BuiltinAnalyzer", "commit_insight"]

VERSION = "builtin-1"

_KINDS: frozenset[str] = frozenset(get_args(Kind))
_CONVENTIONAL = re.compile(r"^(?P<type>[a-zA-Z]+)(?:\((?P<scope>[^)]*)\))?(?P<bang>!)?:\s*")
_KEYWORDS: list[tuple[re.Pattern[str], Kind]] = [
    (re.compile(r"^revert\b", re.I), "revert"),
    (re.compile(r"\b(fix(es|ed)?|bug|hotfix|patch)\b", re.I), "fix"),
    (re.compile(r"\b(docs?|readme|documentation)\b", re.I), "docs"),
    (re.compile(r"\btests?\b", re.I), "test"),
    (re.compile(r"\brefactor", re.I), "refactor"),
    (re.compile(r"\b(perf|performance|faster|speed up)\b", re.I), "perf"),
    (re.compile(r"\b(add(s|ed)?|implement(s|ed)?|introduce[sd]?|support)\b", re.I), "feat"),
]
_LANGUAGES = {
    ".py": "Python", ".pyi": "Python", ".js": "JavaScript", ".jsx": "JavaScript",
    ".mjs": "JavaScript", ".ts": "TypeScript", ".tsx": "TypeScript", ".go": "Go", ".rs": "Rust",
    ".java": "Java", ".kt": "Kotlin", ".rb": "Ruby", ".php": "PHP", ".c": "C", ".h": "C",
    ".cc": "C++", ".cpp": "C++", ".hpp": "C++", ".cs": "C#", ".swift": "Swift",
    ".scala": "Scala", ".sh": "Shell", ".sql": "SQL", ".html": "HTML", ".css": "CSS",
    ".scss": "CSS", ".vue": "Vue", ".md": "Markdown", ".rst": "reStructuredText",
    ".yaml": "YAML", ".yml": "YAML", ".toml": "TOML", ".json": "JSON", ".tf": "Terraform",
    ".txt": "Text",
}  # fmt: skip
_BUILD_FILES = re.compile(
    r"(^|/)(pyproject\.toml|setup\.py|requirements[^/]*\.txt|package(-lock)?\.json|"
    r"[^/]*\.lock|go\.(mod|sum)|Cargo\.toml|Dockerfile|Makefile)$|(^|/)\.(github|gitlab|ci)/"
)
_DOC_PATH = re.compile(r"(^|/)docs?/|\.(md|rst|txt)$", re.I)
_TEST_PATH = re.compile(r"(^|/)tests?/|(^|/)test_[^/]*$|_test\.\w+$|\.(spec|test)\.\w+$")
_MIGRATION_PATH = re.compile(r"(^|/)migrations?/", re.I)


class BuiltinAnalyzer:
    """Deterministic heuristics; makes no model call."""

    name = "builtin"
    prompt_version = VERSION
    model = None

    async def commit(self, data: CommitData, record: CallRecorder) -> CommitInsight:
        """The commit's insight from its message, paths and stats."""
        return commit_insight(data)

    async def pull_request(self, data: PullRequestData, record: CallRecorder) -> PullRequestInsight:
        """The pull request's insight from its title and its commits' insights (the kind of
        its title, else its commits' most common kind; the highest risk of its commits)."""
        insights = [commit_insight(c) for c in data.commits]
        kind, _, _ = _kind_of(data.title, [p for c in data.commits for p in c.paths])
        if kind == "chore" and insights:  # the title says nothing: what its commits mostly are
            kind = Counter(i.kind for i in insights).most_common(1)[0][0]
        risk: Risk = max((i.risk for i in insights), key=_RISK_ORDER.index, default="low")
        areas = _top(a for i in insights for a in i.areas)
        changed = sum((c.additions or 0) + (c.deletions or 0) for c in data.commits)
        focus = [f"{a} ({risk} risk)" for a in areas[:3]] if risk != "low" else areas[:3]
        return PullRequestInsight(
            kind=kind,
            summary=_cut(f"{data.title} — {len(data.commits)} commits, {changed} lines", 500),
            areas=areas,
            risk=risk,
            review_focus=focus,
        )


_RISK_ORDER: list[Risk] = ["low", "medium", "high"]


def commit_insight(data: CommitData) -> CommitInsight:
    """What the heuristics say about one commit."""
    subject = data.message.strip().splitlines()[0] if data.message.strip() else "(no message)"
    kind, scope, breaking = _kind_of(subject, data.paths)
    breaking = breaking or "BREAKING CHANGE" in data.message
    areas = _top(_area(p) for p in data.paths)
    if scope:
        areas = [scope, *[a for a in areas if a != scope]][:5]
    languages = _top(lang for p in data.paths if (lang := _language(p)))
    files = data.files_changed if data.files_changed is not None else len(data.paths)
    size = _size(data.additions, data.deletions, files)
    return CommitInsight(
        kind=kind,
        summary=_cut(_CONVENTIONAL.sub("", subject) or subject, 120),
        areas=areas,
        languages=languages,
        size=size,
        risk=_risk(size, files, breaking, data.paths),
    )


def _kind_of(subject: str, paths: list[str]) -> tuple[Kind, str | None, bool]:
    match = _CONVENTIONAL.match(subject)
    if match and match["type"].lower() in _KINDS:
        kind: Kind = match["type"].lower()  # type: ignore[assignment]  # checked just above
        return kind, (match["scope"] or None), bool(match["bang"])
    for pattern, keyword_kind in _KEYWORDS:
        if pattern.search(subject):
            return keyword_kind, None, False
    if paths and all(_TEST_PATH.search(p) for p in paths):
        return "test", None, False
    if paths and all(_DOC_PATH.search(p) for p in paths):
        return "docs", None, False
    return "chore", None, False


def _area(path: str) -> str:
    head, sep, _ = path.partition("/")
    return head if sep else "(root)"


def _language(path: str) -> str | None:
    name = path.rsplit("/", 1)[-1]
    dot = name.rfind(".")
    return _LANGUAGES.get(name[dot:].lower()) if dot > 0 else None


def _size(additions: int | None, deletions: int | None, files: int) -> Size:
    if additions is None and deletions is None:
        lines = files * 20  # no line counts: judge by files touched
    else:
        lines = (additions or 0) + (deletions or 0)
    for limit, size in ((10, "tiny"), (50, "small"), (250, "medium"), (1000, "large")):
        if lines <= limit:
            return size  # type: ignore[return-value]  # the literals above are Size values
    return "huge"


def _risk(size: Size, files: int, breaking: bool, paths: list[str]) -> Risk:
    if breaking or size == "huge" or files > 20 or any(_MIGRATION_PATH.search(p) for p in paths):
        return "high"
    if size == "large" or any(_BUILD_FILES.search(p) for p in paths):
        return "medium"
    return "low"


def _top(values: Iterable[str], limit: int = 5) -> list[str]:
    return [value for value, _ in Counter(values).most_common(limit)]


def _cut(text: str, limit: int) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"
