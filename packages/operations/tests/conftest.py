"""Make this folder's support modules importable by name, here and in worker subprocesses."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from collections.abc import AsyncIterator

import pytest_asyncio
from operations_test_support import Receiver


@pytest_asyncio.fixture(loop_scope="session")
async def receiver() -> AsyncIterator[Receiver]:
    """A loopback HTTP server answering from a script and recording what it was sent."""
    server = Receiver()
    await server.start()
    try:
        yield server
    finally:
        await server.stop()
