"""Payload encryption on a real dev server: what the server stores, what callers read, rotation."""

import base64
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.exceptions import ApplicationError

from core import activities
from core.client import connect
from core.codec import ENCODING, KEY_ID_METADATA, CodecKeyError, EncryptionCodec, parse_keys
from core.dev.server import DevServer
from core.dev.testing import running_worker
from core.dispatch import JobFailedError, dispatch
from core.settings import settings


def new_key(key_id: str) -> str:
    return f"{key_id}:{base64.b64encode(os.urandom(32)).decode()}"


@activities.defn(queue="codec-test")
async def codec_echo(input: str) -> str:
    return f"echo {input}"


@activities.defn(queue="codec-test")
async def codec_fail(input: str) -> str:
    raise ApplicationError(f"cannot handle {input}", non_retryable=True)


@pytest.fixture
def keys(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Settings are cached per process: clear them around a test that changes the keys."""
    settings.cache_clear()
    yield
    monkeypatch.delenv("LANES_ENCRYPTION_KEYS", raising=False)
    settings.cache_clear()


async def client_with(monkeypatch: pytest.MonkeyPatch, address: str, key_list: str) -> Client:
    if key_list:
        monkeypatch.setenv("LANES_ENCRYPTION_KEYS", key_list)
    else:
        monkeypatch.delenv("LANES_ENCRYPTION_KEYS", raising=False)
    settings.cache_clear()
    return await connect(target_host=address)


def test_key_list_errors_name_the_entry_never_the_key() -> None:
    secret = base64.b64encode(os.urandom(16)).decode()
    with pytest.raises(CodecKeyError, match=r"entry 1 \('short'\) decodes to 16 bytes") as err:
        parse_keys(f"short:{secret}")
    assert secret not in str(err.value)
    with pytest.raises(CodecKeyError, match="entry 2 is not key_id:base64_key"):
        parse_keys(f"{new_key('a')},justakey")
    with pytest.raises(CodecKeyError, match="not valid base64"):
        parse_keys("a:!!!!")
    with pytest.raises(CodecKeyError, match="listed twice"):
        parse_keys(f"{new_key('a')},{new_key('a')}")
    assert "secret" not in repr(parse_keys(new_key("a"))[0])


@pytest.mark.parametrize("engine", ["activity", "workflow"])
async def test_payloads_never_reach_the_server_in_clear(
    tmp_path: Path, task_queue: str, monkeypatch: pytest.MonkeyPatch, keys: None, engine: str
) -> None:
    monkeypatch.setenv("LANES_DISPATCH_MODE", engine)
    marker, failure_marker = f"marker-{uuid.uuid4().hex}", f"failmark-{uuid.uuid4().hex}"
    state = tmp_path / "state"
    server = DevServer(ui_port=None, db_file=state / "temporal.db")
    await server.start()
    try:
        client = await client_with(monkeypatch, server.address, new_key("k1"))
        served = [codec_echo, codec_fail]
        async with running_worker(client, task_queue=task_queue, activities=served):
            job = await dispatch(codec_echo, marker, task_queue=task_queue, client=client)
            assert await job.result() == f"echo {marker}"
            failing = await dispatch(
                codec_fail, failure_marker, task_queue=task_queue, client=client
            )
            with pytest.raises(JobFailedError) as failed:
                await failing.result()
        # The caller still reads the failure's message (decoded on its side).
        assert failure_marker in str(failed.value.cause)
        if engine == "workflow":
            # The stored history holds neither: inputs, results and the failure message are
            # sealed. (A standalone activity has no history; the file check below covers it.)
            raw = await Client.connect(server.address)
            history = await raw.get_workflow_handle(failing.id).fetch_history()
            assert failure_marker not in history.to_json()
            assert "Encoded failure" in history.to_json()
    finally:
        await server.stop()
    stored = b"".join(p.read_bytes() for p in state.iterdir() if p.is_file())
    assert len(stored) > 100_000, "the server wrote its database to the folder"
    assert marker.encode() not in stored
    assert failure_marker.encode() not in stored


# Rotation is the converter's business, the same on both engines; the workflow engine's history
# shows which key sealed each start.
@pytest.mark.usefixtures("workflow_engine")
async def test_rotation_and_payloads_written_before_keys(
    temporal_server: DevServer, task_queue: str, monkeypatch: pytest.MonkeyPatch, keys: None
) -> None:
    key_a, key_b = new_key("A"), new_key("B")
    address = temporal_server.address
    plain = await client_with(monkeypatch, address, "")
    only_a = await client_with(monkeypatch, address, key_a)
    rotated = await client_with(monkeypatch, address, f"{key_b},{key_a}")

    async with running_worker(plain, task_queue=task_queue, activities=[codec_echo]):
        before = await dispatch(codec_echo, "before keys", task_queue=task_queue, client=plain)
        await before.result()
    async with running_worker(only_a, task_queue=task_queue, activities=[codec_echo]):
        under_a = await dispatch(codec_echo, "under A", task_queue=task_queue, client=only_a)
        await under_a.result()
    async with running_worker(rotated, task_queue=task_queue, activities=[codec_echo]):
        under_b = await dispatch(codec_echo, "under B", task_queue=task_queue, client=rotated)
        assert await under_b.result() == "echo under B"

    # B,A reads everything: plain payloads from before keys, A's, and its own.
    for job, expected in ((before, "before keys"), (under_a, "under A"), (under_b, "under B")):
        assert await rotated.get_workflow_handle(job.id).result() == f"echo {expected}"
    # New payloads are written under B, older ones keep A.
    assert await started_key_id(under_b.id, address) == b"B"
    assert await started_key_id(under_a.id, address) == b"A"
    # A process without B says which key it lacks instead of returning garbage.
    with pytest.raises(CodecKeyError, match=r"key id 'B'.*LANES_ENCRYPTION_KEYS has: 'A'"):
        await only_a.get_workflow_handle(under_b.id).result()
    with pytest.raises(CodecKeyError, match=r"key id 'A'.*has: none"):
        await plain.get_workflow_handle(under_a.id).result()


async def started_key_id(workflow_id: str, address: str) -> bytes:
    raw = await Client.connect(address)  # no codec: what the server holds
    history = await raw.get_workflow_handle(workflow_id).fetch_history()
    [payload] = history.events[0].workflow_execution_started_event_attributes.input.payloads
    assert payload.metadata["encoding"] == ENCODING
    return payload.metadata[KEY_ID_METADATA]


async def test_a_key_with_the_right_id_but_wrong_bytes_is_refused() -> None:
    [right] = parse_keys(new_key("k"))
    [wrong] = parse_keys(new_key("k"))
    [sealed] = await EncryptionCodec([right]).encode([Payload(data=b'"hello"')])
    assert b"hello" not in sealed.data
    with pytest.raises(CodecKeyError, match="key id 'k' does not decrypt"):
        await EncryptionCodec([wrong]).decode([sealed])
    assert await EncryptionCodec([right]).decode([sealed]) == [Payload(data=b'"hello"')]
