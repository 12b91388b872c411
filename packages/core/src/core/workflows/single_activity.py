"""``SingleActivityWorkflow``: run one registered activity by name, with its registered config.

Every ``dispatch`` and every activity schedule is one of these, so each job has its own history in
the UI: input, attempts, durations, the error of each failed attempt and the result.

Its input is plain JSON so a person can start it from the Temporal UI or the CLI::

    temporal workflow start --type SingleActivityWorkflow --task-queue sync \\
        --input '{"activity": "lanes.ping", "input": null}'

Failing fast matters more than anything here: an unknown activity name or an input that does not
validate fails the workflow at once with a non-retryable error that says what was wrong. Left to
the server, an unknown activity would sit in the queue until its timeout and a bad input would be
retried by the activity's policy.
"""

from __future__ import annotations

from typing import Any

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    import pydantic

    from core import activities
    from core.activities import ActivityOptions

__all__ = ["SingleActivityInput", "SingleActivityWorkflow"]


class SingleActivityInput(pydantic.BaseModel):
    """What to run: ``{"activity": "<name>", "input": <json>, "options": {...}}``."""

    model_config = pydantic.ConfigDict(extra="forbid")

    activity: str = pydantic.Field(min_length=1)
    """Registered activity name."""
    input: Any = None
    """The activity's input as JSON; validated against its input model before it is scheduled."""
    options: ActivityOptions | None = None
    """Per-call overrides of the registered config (queue, retry policy, timeouts)."""


# Outside the sandbox, on purpose: see core.workflows' docstring.
@workflow.defn(name="SingleActivityWorkflow", sandboxed=False)
class SingleActivityWorkflow:
    """Runs one registered activity and returns its result."""

    @workflow.run
    async def run(self, job: SingleActivityInput) -> Any:
        task_queue = workflow.info().task_queue
        config = activities.served_config(job.activity, task_queue)
        try:
            config.validate_input(job.input)
        except ValueError as err:
            raise ApplicationError(str(err), type="InvalidInput", non_retryable=True) from None
        args = [] if config.input_type is None else [job.input]
        if config.runs_local(job.options):
            # The fast path: no activity task round trip, about half the history events. Decided
            # from the input and the registered config only, never from this worker's state, so
            # a replay elsewhere makes the same choice.
            return await workflow.execute_local_activity(
                config.name, args=args, **config.local_options(job.options)
            )
        queue = activities.resolve_queue(config, task_queue)
        options = config.execution_options(job.options, task_queue=queue)
        return await workflow.execute_activity(config.name, args=args, **options)
