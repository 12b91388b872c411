"""The ``pytest11`` entry point of ``lanes-core``: Lanes' fixtures, where they can work.

pytest loads every installed ``pytest11`` plugin in every project that shares the environment,
including a service that only installed ``lanes-core`` to call ``dispatch``. The fixtures
(:mod:`core.dev.testing`, :mod:`core.db.testing`) are async and need ``pytest-asyncio``; importing
them without it would stop that project's pytest before it collects anything. So this module
names them as plugins only when ``pytest-asyncio`` is installed, and is otherwise empty.
"""

from __future__ import annotations


def _has_pytest_asyncio() -> bool:
    try:
        import pytest_asyncio  # noqa: F401 - only whether it imports
    except ImportError:
        return False
    return True


pytest_plugins = ["core.dev.testing", "core.db.testing"] if _has_pytest_asyncio() else []
