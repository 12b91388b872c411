"""Real git repositories for the analysis tests, made fast with ``git fast-import``.

Commit ``i`` (1-based) is by ``Dev {i % AUTHORS}``, touches one file whose folder and extension
cycle through :data:`FILES`, and has a Conventional Commits subject whose type cycles through
:data:`KINDS` — so the built-in analyzer's answers are known in advance.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

AUTHORS = 7
FILES = [("api", ".py"), ("web", ".ts"), ("docs", ".md"), ("infra", ".tf")]
KINDS = ["feat", "fix", "docs", "refactor", "test"]


def author(i: int) -> str:
    return f"dev{i % AUTHORS}@example.com"


def make_repo(path: Path, commits: int) -> Path:
    """A new repository at ``path`` with ``commits`` commits on ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    stream = []
    for i in range(1, commits + 1):
        ts = 1_700_000_000 + i * 3600
        folder, ext = FILES[i % len(FILES)]
        message = f"{KINDS[i % len(KINDS)]}: change {i}\n\nbody of commit {i}\n".encode()
        content = "".join(f"line {n} of {i}\n" for n in range(i % 5 + 1)).encode()
        stream += [
            b"commit refs/heads/main\n",
            f"mark :{i}\n".encode(),
            f"author Dev {i % AUTHORS} <{author(i)}> {ts} +0000\n".encode(),
            f"committer CI <ci@example.com> {ts} +0000\n".encode(),
            b"data %d\n%s\n" % (len(message), message),
            b"M 644 inline %s\ndata %d\n%s\n"
            % (f"{folder}/{i // 50}/f{i}{ext}".encode(), len(content), content),
        ]
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"], input=b"".join(stream), check=True
    )
    return path
