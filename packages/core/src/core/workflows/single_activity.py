"""``SingleActivityWorkflow``: run one activity by name, as the job's own input says.

Every activity schedule is one of these, and so is every ``dispatch`` when jobs run as workflows,
so each job has its own history in the UI: input, attempts, durations, errors and the result.

What the job runs — activity name, queue, retry policy, timeouts, local or not — is decided where
the job is created (``dispatch``, a schedule's sync: :meth:`ActivityConfig.resolve`) and carried
in ``options``. This workflow reads only its input, never the registry of the worker that runs
it, so a job started by one version of a domain replays the same on another, and an activity
this worker lacks is still scheduled on the queue, where a worker that serves it picks it up
(the worker side rejects a name nobody serves).

Its input is plain JSON so a person can start it from the Temporal UI or the CLI::

    temporal workflow start --type SingleActivityWorkflow --task-queue sync \\
        --input '{"activity": "lanes.ping", "input": null}'

What such a start leaves out gets the documented defaults (:func:`core.activities.job_options`:
standard retry, 5-minute attempts, this workflow's queue). A start that is not exactly one JSON
object of this shape fails at once, non-retryably, saying what was wrong (``_input``).
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow

with workflow.unsafe.imports_passed_through():
    import pydantic

    from core.activities import ActivityOptions, job_options
    from core.workflows._input import single_input
    from core.workflows._local import LocalJobs, failure_of

__all__ = ["SingleActivityInput", "SingleActivityWorkflow"]


class SingleActivityInput(pydantic.BaseModel):
    """What to run: ``{"activity": "<name>", "input": <json>, "options": {...}}``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    activity: str = pydantic.Field(min_length=1)
    """Activity name; the worker that runs the activity validates the input against its model."""
    input: Any = None
    """The activity's input as JSON (validated where the job was created, when known there)."""
    options: ActivityOptions | None = None
    """How the job runs; fully resolved by ``dispatch`` and schedules, defaults for what is left
    out (see :func:`core.activities.job_options`)."""


# Outside the sandbox, on purpose: see core.workflows' docstring.
@workflow.defn(name="SingleActivityWorkflow", sandboxed=False)
class SingleActivityWorkflow:
    """Runs one activity and returns its result."""

    @workflow.run
    async def run(self, *args: Any) -> Any:
        job = single_input("SingleActivityWorkflow", args, SingleActivityInput)
        if job.options is not None and job.options.local:
            # The fast path (core.workflows._local): no activity task round trip, fewer events.
            local = LocalJobs(job.activity, job.options)
            outcome = await local.run(workflow.info().workflow_id, job.input)
            if outcome.ok:
                return outcome.result
            if not outcome.unserved:
                raise failure_of(outcome)
            # This worker does not serve the activity (another version does): use the queue.
        call = [] if job.input is None else [job.input]
        return await workflow.execute_activity(
            job.activity, args=call, **job_options(job.options, local=False)
        )
