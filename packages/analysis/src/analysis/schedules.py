"""Periodic work of the analysis domain, declared as data and synced when its worker starts."""

from analysis.workflows import RebuildProfilesWorkflow
from analysis.workflows.rebuild_profiles import RebuildProfilesInput
from core.schedules import Schedule

SCHEDULES: list[Schedule] = [
    Schedule(
        id="analysis.rebuild_profiles",
        target=RebuildProfilesWorkflow,
        input=RebuildProfilesInput(),
        cron="15 3 * * *",
        # Analyses rebuild their authors' profiles as they land; this nightly pass catches what a
        # failed rebuild left behind and moves every profile onto a newer analyzer's rows.
        description="Rebuild every developer profile from its analyses, daily at 03:15 UTC.",
    ),
]
