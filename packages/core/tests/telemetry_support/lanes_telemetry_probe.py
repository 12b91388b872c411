"""Activities the telemetry tests run in a real ``sync-worker`` subprocess (``LANES_INCLUDE``).

They do what real activities do that observability must survive: log through structlog, stdlib
logging and ``activity.logger`` (with a secret and an email address in the arguments), call an
HTTP service with httpx, run in a thread, and fail.
"""

from __future__ import annotations

import logging
from datetime import timedelta

import httpx
import pydantic
import structlog
from temporalio import activity
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError

from core import activities


class FetchInput(pydantic.BaseModel):
    url: str
    api_key: str
    email: str


@activities.defn(name="telemetry_probe.fetch", queue="sync", start_to_close=timedelta(seconds=30))
async def fetch(input: FetchInput) -> int:
    structlog.get_logger("probe").info(
        "probe fetching", url=input.url, api_key=input.api_key, user_email=input.email
    )
    logging.getLogger("probe.stdlib").info(
        "calling with Authorization: Bearer %s on behalf of %s", input.api_key, input.email
    )
    activity.logger.info("sdk activity logger line")
    async with httpx.AsyncClient() as client:
        response = await client.get(input.url, headers={"Authorization": f"Bearer {input.api_key}"})
    return response.status_code


@activities.defn(
    name="telemetry_probe.fetch_in_thread", queue="sync", start_to_close=timedelta(seconds=30)
)
def fetch_in_thread(input: FetchInput) -> int:
    structlog.get_logger("probe").info("probe fetching in a thread", api_key=input.api_key)
    with httpx.Client() as client:
        return client.get(input.url).status_code


@activities.defn(
    name="telemetry_probe.fail",
    queue="sync",
    retry=RetryPolicy(maximum_attempts=1),
    start_to_close=timedelta(seconds=30),
)
async def fail() -> None:
    raise ApplicationError("the probe fails on purpose", type="ProbeFailure", non_retryable=True)
