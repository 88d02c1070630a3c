"""OutageNotices: an outage of the store is said once when it starts and once when it ends."""

from __future__ import annotations

import pytest

from kob.errors import LockHeld, StoreError
from kob.store.memory import MemoryStore
from kob.store.outage import OutageNotices

DOWN = "etcd at a:2379 does not answer (a:2379: connection refused); check that its members run"


class AwayStore(MemoryStore):
    """A memory store whose reads and writes fail while ``away``."""

    label = "etcd at a:2379"
    away = False

    async def get(self, key: str):
        if self.away:
            raise StoreError(DOWN)
        return await super().get(key)


class Clock:
    now = 100.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def said() -> list[str]:
    return []


async def test_an_outage_is_said_once_at_its_start_and_once_at_its_end(said):
    store, clock = AwayStore(), Clock()
    notices = OutageNotices(store, said.append, clock)
    await notices.put("k", b"v")
    store.away = True
    for _ in range(5):
        with pytest.raises(StoreError, match="does not answer"):
            await notices.get("k")
        clock.now += 3
    assert notices.down and notices.error == DOWN
    store.away = False
    assert (await notices.get("k")).value == b"v"
    await notices.get("k")
    assert said == [
        f"store: {DOWN}; the page keeps the last view, marked stale, and kob tries again every few seconds",
        "store: etcd at a:2379 answers again, after 15 s",
    ]
    assert not notices.down


async def test_a_held_lock_is_an_answer_and_the_wrapped_store_does_the_work(said):
    store = AwayStore()
    notices = OutageNotices(store, said.append)
    await store.acquire_lock("l", "other", 10)
    with pytest.raises(LockHeld):
        await notices.acquire_lock("l", "me", 10)
    assert (await notices.lock_info("l")).holder == "other"
    await notices.append_event("test", "one")
    assert [e.message for e in await notices.events()] == ["one"]
    assert said == [] and notices.label == "etcd at a:2379"
