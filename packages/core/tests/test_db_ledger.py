"""The idempotency ledger: a retried or racing side effect runs once and every caller gets the
first outcome."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pydantic
import pytest

from core.db import ledger


async def test_a_repeated_key_gets_the_first_outcome_and_the_effect_runs_once(
    migrated_database_url: str,
) -> None:
    sent: list[str] = []

    async def send(text: str) -> dict[str, str]:
        sent.append(text)
        return {"message_id": f"m-{len(sent)}"}

    url = migrated_database_url
    first = await ledger.once("mail:welcome:42", lambda: send("hello"), url=url)
    again = await ledger.once("mail:welcome:42", lambda: send("hello again"), url=url)
    other = await ledger.once("mail:welcome:43", lambda: send("hello 43"), url=url)

    assert first == {"message_id": "m-1"}
    assert again == {"message_id": "m-1"}
    assert other == {"message_id": "m-2"}
    assert sent == ["hello", "hello 43"]


async def test_two_racing_claims_run_the_effect_once_and_both_get_its_outcome(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The effect finishes only once the second caller has found the key held: the race is
    # certain, not left to a sleep.
    second_saw_it_held = asyncio.Event()
    real_claim = ledger.claim

    async def observed_claim(key: str, **kwargs: Any) -> ledger.Claim:
        got = await real_claim(key, **kwargs)
        if not got.acquired and not got.done:
            second_saw_it_held.set()
        return got

    monkeypatch.setattr(ledger, "claim", observed_claim)
    calls = 0

    async def charge() -> int:
        nonlocal calls
        calls += 1
        await second_saw_it_held.wait()
        return 1234

    results = await asyncio.gather(
        *(
            ledger.once("charge:7", charge, wait=timedelta(seconds=30), url=migrated_database_url)
            for _ in range(2)
        )
    )
    assert results == [1234, 1234]
    assert calls == 1


async def test_concurrent_claims_have_exactly_one_winner(migrated_database_url: str) -> None:
    claims = await asyncio.gather(
        *(ledger.claim("k", owner=f"w{i}", url=migrated_database_url) for i in range(10))
    )
    winners = [c for c in claims if c.acquired]
    assert len(winners) == 1
    assert all(c.owner == winners[0].owner for c in claims if not c.acquired)


async def test_a_held_key_without_outcome_is_a_retryable_error(migrated_database_url: str) -> None:
    url = migrated_database_url
    await ledger.claim("busy", owner="attempt-1", url=url)
    with pytest.raises(ledger.ClaimHeld, match=r"'busy' is held by attempt-1"):
        await ledger.once("busy", _never, url=url)


async def test_a_failed_effect_releases_the_key_so_a_retry_runs_it(
    migrated_database_url: str,
) -> None:
    url = migrated_database_url

    async def fails() -> str:
        raise ConnectionError("smtp down")

    async def works() -> str:
        return "sent"

    with pytest.raises(ConnectionError):
        await ledger.once("k2", fails, url=url)
    assert await ledger.once("k2", works, url=url) == "sent"


async def test_an_expired_claim_is_taken_over_by_one_caller(migrated_database_url: str) -> None:
    url = migrated_database_url
    await ledger.claim("stale", owner="dead-worker", lease=timedelta(milliseconds=50), url=url)
    await asyncio.sleep(0.2)
    claims = await asyncio.gather(
        *(ledger.claim("stale", owner=f"w{i}", url=url) for i in range(5))
    )
    assert sum(c.acquired for c in claims) == 1
    assert all(c.owner != "dead-worker" for c in claims)


async def _never() -> None:
    raise AssertionError("the effect must not run while another attempt holds the key")


class Receipt(pydantic.BaseModel):
    message_id: str


async def test_a_recorded_outcome_comes_back_as_the_declared_type(
    migrated_database_url: str,
) -> None:
    async def send() -> Receipt:
        return Receipt(message_id="m-1")

    url = migrated_database_url
    first = await ledger.once("typed", send, result_type=Receipt, url=url)
    again = await ledger.once("typed", send, result_type=Receipt, url=url)
    assert first == again == Receipt(message_id="m-1")


async def test_without_a_url_the_ledger_uses_lanes_database_url(lanes_database: str) -> None:
    async def effect() -> str:
        return "done"

    assert await ledger.once("default-db", effect) == "done"
    claim = await ledger.claim("default-db", url=lanes_database)
    assert (claim.acquired, claim.done, claim.outcome) == (False, True, "done")


async def test_an_attempt_whose_claim_was_taken_over_cannot_release_or_record_it(
    migrated_database_url: str,
) -> None:
    url = migrated_database_url
    slow = await ledger.claim("effect", owner="slow", lease=timedelta(milliseconds=50), url=url)
    assert slow.acquired
    await asyncio.sleep(0.2)  # the slow attempt's lease runs out
    new = await ledger.claim("effect", owner="new", url=url)
    assert new.acquired

    # The slow attempt ends: its release and its outcome must not touch the new holder's claim.
    assert await ledger.release("effect", owner="slow", url=url) is False
    with pytest.raises(ledger.ClaimLost, match="not held by slow"):
        await ledger.record("effect", "slow outcome", owner="slow", url=url)
    third = await ledger.claim("effect", owner="third", url=url)
    assert (third.acquired, third.owner) == (False, "new")

    await ledger.record("effect", "new outcome", owner="new", url=url)
    done = await ledger.claim("effect", owner="fourth", url=url)
    assert (done.done, done.outcome) == (True, "new outcome")


async def test_leases_run_on_the_database_clock_not_the_workers(
    migrated_database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = migrated_database_url
    held = await ledger.claim("clock", owner="w1", lease=timedelta(minutes=5), url=url)
    assert held.acquired and held.lease_until is not None
    assert abs(held.lease_until - (datetime.now(UTC) + timedelta(minutes=5))) < timedelta(minutes=1)

    # A worker whose clock runs an hour fast must still see the five-minute lease as held.
    fast = datetime.now(UTC) + timedelta(hours=1)
    monkeypatch.setattr(ledger, "_now", lambda: fast, raising=False)
    other = await ledger.claim("clock", owner="w2", url=url)
    assert (other.acquired, other.owner) == (False, "w1")
