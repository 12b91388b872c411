"""Real git repositories for tests, thousands of commits in well under a second (fast-import).

Commit ``i`` (1-based) adds ``files/<i // 100>/<i>.txt`` with ``i % 3 + 1`` lines; every tenth
commit also deletes the file of the tenth commit before it. So ``git log --numstat`` of commit
``i`` shows 1 file (+``i % 3 + 1``), or 2 files and ``(i - 10) % 3 + 1`` deleted lines when
``i % 10 == 0`` and ``i > 10`` (see :func:`expected_stats`).
"""

from __future__ import annotations

import subprocess
from pathlib import Path


def expected_stats(i: int) -> tuple[int, int, int]:
    """(files changed, additions, deletions) of commit ``i``."""
    if i % 10 == 0 and i > 10:
        return 2, i % 3 + 1, (i - 10) % 3 + 1
    return 1, i % 3 + 1, 0


def make_repo(path: Path, commits: int) -> Path:
    """A new repository at ``path`` with ``commits`` commits on ``main``."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["git", "init", "-q", "-b", "main", str(path)], check=True)
    add_commits(path, commits)
    return path


def add_commits(path: Path, count: int) -> list[str]:
    """Append ``count`` commits to ``main``; returns their shas, oldest first."""
    head = _git(path, "rev-parse", "--verify", "--quiet", "refs/heads/main", check=False)
    start = int(_git(path, "rev-list", "--count", "main")) if head else 0
    stream = []
    for i in range(start + 1, start + count + 1):
        ts = 1_700_000_000 + i * 60
        message = f"commit {i}\n\nbody of commit {i}\n".encode()
        content = "".join(f"line {n} of {i}\n" for n in range(i % 3 + 1)).encode()
        stream.append(b"commit refs/heads/main\n")
        stream.append(f"mark :{i}\n".encode())
        stream.append(f"author Dev {i % 7} <dev{i % 7}@example.com> {ts} +0200\n".encode())
        stream.append(f"committer CI <ci@example.com> {ts + 30} +0000\n".encode())
        stream.append(b"data %d\n%s\n" % (len(message), message))
        if i == start + 1 and head:
            stream.append(f"from {head}\n".encode())
        stream.append(
            b"M 644 inline %s\ndata %d\n%s\n" % (_file(i).encode(), len(content), content)
        )
        if i % 10 == 0 and i > 10:
            stream.append(f"D {_file(i - 10)}\n".encode())
    subprocess.run(
        ["git", "-C", str(path), "fast-import", "--quiet"],
        input=b"".join(stream),
        check=True,
    )
    shas = _git(path, "rev-list", "--reverse", f"-{count}", "main").split()
    return shas


def _file(i: int) -> str:
    # Small trees: fast-import rewrites a commit's whole directory, so one flat folder of
    # thousands of files would make every commit cost O(files).
    return f"files/{i // 100}/{i}.txt"


def _git(path: Path, *args: str, check: bool = True) -> str:
    done = subprocess.run(
        ["git", "-C", str(path), *args], capture_output=True, text=True, check=check
    )
    return done.stdout.strip()
