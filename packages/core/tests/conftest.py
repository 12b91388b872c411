"""Make this folder's helper modules importable by name, here and in worker subprocesses."""

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))


@pytest.fixture
def workflow_engine(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Run dispatch's jobs as SingleActivityWorkflow (LANES_DISPATCH_MODE=workflow)."""
    from core.settings import settings

    monkeypatch.setenv("LANES_DISPATCH_MODE", "workflow")
    settings.cache_clear()
    yield
    settings.cache_clear()
