"""A workflow that logs before and after an activity, to show ``workflow.logger`` is replay-safe.

Run on a worker without a workflow cache, its second task replays the first part: a logger that
is not replay-safe would print "before the activity" twice.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow


@activity.defn(name="chatty.echo")
async def echo(text: str) -> str:
    return text


@workflow.defn(name="ChattyWorkflow")
class ChattyWorkflow:
    @workflow.run
    async def run(self, user_email: str) -> str:
        workflow.logger.info("before the activity for %s", user_email)
        result: str = await workflow.execute_activity(
            echo, "hello", start_to_close_timeout=timedelta(seconds=10)
        )
        workflow.logger.info("after the activity", extra={"password": "hunter2"})
        return result
