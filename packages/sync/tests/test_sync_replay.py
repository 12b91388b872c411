"""Runs recorded with earlier workflow code still replay on today's code.

``histories/sync_repository_with_register_step.json`` is a real ``SyncRepositoryWorkflow`` run
recorded before the workflow stopped scheduling ``register_repository`` itself; a run in flight
across that deploy must finish on the new workers.
"""

from __future__ import annotations

from pathlib import Path

from temporalio.client import WorkflowHistory

from core.dev.testing import replay
from sync.workflows import SyncAllRepositoriesWorkflow, SyncRepositoryWorkflow

HISTORIES = Path(__file__).parent / "histories"


async def test_a_run_recorded_with_the_separate_register_step_replays() -> None:
    path = HISTORIES / "sync_repository_with_register_step.json"
    history = WorkflowHistory.from_json("recorded", path.read_text())
    await replay([history], [SyncRepositoryWorkflow, SyncAllRepositoriesWorkflow])
