"""``python analysis_test_worker.py QUEUE``: the analysis domain's real worker (core's
``build_worker``) in a process of its own, on a test's own queue, until it is killed.

``analysis-worker`` serves the shared ``analysis`` queue, where other tests' hand-offs may wait;
this serves the same domain on a queue no other test uses, so a test can SIGKILL it.
"""

from __future__ import annotations

import asyncio
import sys

from core import domains
from core.client import connect
from core.worker import build_worker


async def main(queue: str) -> None:
    client = await connect()
    worker = build_worker(client, domains.load("analysis"), task_queue=queue)
    print(f"serving {queue}", flush=True)
    await worker.run()


if __name__ == "__main__":
    asyncio.run(main(sys.argv[1]))
