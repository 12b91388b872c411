"""The folder ``lanes dev`` keeps its state in (``.lanes/`` at the workspace root), held by one
``lanes dev`` at a time.

Two dev servers on one ``temporal.db`` fight over the file ("Failed to lock shard") and corrupt
each other's view of it; a second ``lanes dev`` must stop at once and say who holds the folder.
The lock is an advisory ``flock`` on ``.lanes/dev.lock``: the kernel drops it when the holder
exits, however it exits, so a crashed ``lanes dev`` never leaves a stale lock behind. The file
records the holder's PID for the message.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path
from typing import IO

from core.dev.server import DevServerError

__all__ = ["HomeLock"]


class HomeLock:
    """An exclusive hold on a ``lanes dev`` state folder."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self.path = home / "dev.lock"
        self._file: IO[str] | None = None

    def acquire(self) -> None:
        """Create the folder if needed and hold it; ``DevServerError`` saying why not."""
        try:
            self.home.mkdir(parents=True, exist_ok=True)
            handle = self.path.open("a+", encoding="utf-8")
        except OSError as err:
            raise DevServerError(
                f"cannot keep lanes dev state in {self.home}: {err.strerror or err}; fix the "
                "folder's permissions, or set LANES_HOME to a folder you can write"
            ) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DevServerError(
                f"another `lanes dev` (PID {holder}) is using {self.home}: stop it first, or set "
                "LANES_HOME to another folder for a second, separate state"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._file = handle

    def release(self) -> None:
        """Let the folder go (also happens on its own when the process exits)."""
        handle, self._file = self._file, None
        if handle is not None:
            with contextlib.suppress(OSError):
                handle.truncate(0)
                fcntl.flock(handle.fileno(), fcntl.LOCK_UN)
            handle.close()
