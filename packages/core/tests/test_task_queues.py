"""A domain's queue comes from its `lanes.domains` entry point: a new domain edits no core file."""

import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from core import activities
from core.task_queues import _queues_by_package, queue_of_package


@pytest.fixture
def installed_domain(tmp_path: Path) -> Iterator[tuple[str, str]]:
    """A throwaway distribution whose entry point says: queue `<queue>` is package `<pkg>`."""
    queue, package = f"q{uuid.uuid4().hex[:6]}", f"p{uuid.uuid4().hex[:6]}"
    dist = tmp_path / f"{package}-0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 0\n")
    (dist / "entry_points.txt").write_text(f"[lanes.domains]\n{queue} = {package}\n")
    sys.path.insert(0, str(tmp_path))
    _queues_by_package.cache_clear()
    try:
        yield queue, package
    finally:
        sys.path.remove(str(tmp_path))
        _queues_by_package.cache_clear()


def test_the_bundled_domains_queues_come_from_their_entry_points() -> None:
    assert queue_of_package("mail.activities.send") == "email"
    assert queue_of_package("sync") == "sync"
    assert queue_of_package("core.ping") is None


def test_an_activity_of_a_new_domain_runs_on_its_queue(installed_domain: tuple[str, str]) -> None:
    queue, package = installed_domain

    async def tidy_up() -> None: ...

    tidy_up.__module__ = f"{package}.activities.cleanup"
    name = f"tidy_up_{package}"
    config = activities.config_of(activities.defn(name=name)(tidy_up))
    assert config is not None and config.queue == queue
