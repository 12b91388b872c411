"""``StepsWorkflow``: one workflow running ``steps`` sequential ``lanes.ping`` activities.

The Lanes side of the "how cost grows with workflow length" figure, served by the benchmark's
Lanes worker through ``lanes worker --include bench.steps_workflow``. Each step goes through
:func:`core.durable.run_activity`, so it uses the registry's config like domain workflow code.
"""

from __future__ import annotations

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    from core import durable

__all__ = ["StepsWorkflow"]


@workflow.defn(name="BenchStepsWorkflow")
class StepsWorkflow:
    """Run ``lanes.ping`` ``steps`` times, one after the other."""

    @workflow.run
    async def run(self, steps: int) -> int:
        for _ in range(steps):
            await durable.run_activity("lanes.ping")
        return steps
