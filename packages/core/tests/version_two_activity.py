"""An activity only the *new* version of a worker serves (test_rolling_deploy.py).

A worker subprocess serves it via ``--include version_two_activity``; the other one does not.
Its retry policy retries quickly, as a worker-side "not served here" should be: the job must find
the worker that serves it.
"""

from datetime import timedelta

import pydantic
from temporalio import activity
from temporalio.common import RetryPolicy

from core import activities


class Item(pydantic.BaseModel):
    n: int


@activities.defn(
    name="test.version_two",
    queue="operations",
    start_to_close=timedelta(seconds=10),
    retry=RetryPolicy(
        initial_interval=timedelta(milliseconds=200), backoff_coefficient=1.0, maximum_attempts=0
    ),
)
async def version_two(input: Item) -> str:
    """Say which job and attempt this was, by the key the workflow gave it."""
    return f"v2:{input.n}:{activity.info().activity_id}"
