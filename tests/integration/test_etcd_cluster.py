"""The etcd store on a real 3-member cluster: one member killed changes nothing, all killed fails in one line
naming the store, and the same store object works again once they are back.

The members are etcd processes on 127.0.0.1 free ports (tests/helpers/etcd_cluster.py), killed with SIGKILL
and always removed at the end of the module.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import AsyncIterator, Iterator

import pytest

from kob.errors import LockLost, StoreError
from kob.passes.leader import Leadership
from kob.store import Event, open_store
from kob.store.etcd import EtcdStore
from tests.helpers.etcd_cluster import EtcdCluster

pytestmark = pytest.mark.etcd

TTL = 2  # etcd counts lease TTLs in whole seconds
# A leader's lease in the failover tests: a raft leader's loss takes ~2 s to heal (an election), and on a busy
# machine a refresh may wait that long and more; the lease must outlast it, as kob serve's 10 s default does.
LEASE = 8


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[EtcdCluster]:
    made = EtcdCluster(tmp_path_factory.mktemp("etcd-cluster"))
    try:
        made.start_all()
        yield made
    finally:
        made.remove()


@pytest.fixture
def members(cluster: EtcdCluster) -> EtcdCluster:
    """The cluster with every member running at the start of a test."""
    for member in cluster.members:
        if not member.running:
            cluster.start(member)
    return cluster


@pytest.fixture
async def store(members: EtcdCluster) -> AsyncIterator[EtcdStore]:
    async with open_store(members.url(f"test-{uuid.uuid4().hex}")) as opened:
        yield opened


async def test_every_operation_goes_on_when_the_member_in_use_is_killed(members, store):
    await store.put("k", b"1")
    in_use = next(m for m in members.members if m.endpoint == store.members.current)
    members.kill(in_use)
    await store.put("k", b"2")
    entry = await store.get("k")
    assert entry.value == b"2"
    assert await store.compare_and_swap("k", b"3", entry.version)
    assert (await store.append_event("test", "after a kill")).seq == 1
    assert [e.message for e in await store.events()] == ["after a kill"]
    async with store.lock("l", "me", TTL) as lock:
        assert (await store.lock_info("l")).holder == "me"
    assert not await lock.store.lock_info("l")
    assert store.members.current != in_use.endpoint


async def test_the_raft_leader_killed_mid_run_loses_no_write(members, store):
    members.kill(members.leader())
    for n in range(20):
        await store.put(f"n/{n}", b"%d" % n)
    assert [e.value for e in await store.list("n/")] == [b"%d" % n for n in sorted(range(20), key=str)]


@pytest.mark.parametrize("which", ["in use", "raft leader"])
async def test_a_leader_keeps_its_lease_when_one_member_is_killed(members, store, which):
    heard = []
    side = Leadership(store, "kob/test/leader", "serve-a", LEASE, on_change=lambda *change: heard.append(change))
    assert await side.step()
    since = (await side.leader()).since
    victim = members.leader() if which == "raft leader" else next(
        m for m in members.members if m.endpoint == store.members.current)
    members.kill(victim)
    for _ in range(6):  # two leases' worth of steps
        await side.step()
        await asyncio.sleep(LEASE / 3)
    assert side.leading
    assert [leading for leading, _ in heard] == [True]
    assert (await side.leader()).since == since  # the same lock all along


async def test_with_every_member_down_an_operation_fails_in_one_line_and_works_again_when_they_return(members):
    store = open_store(members.url(f"test-{uuid.uuid4().hex}"))
    try:
        await store.put("k", b"before")
        members.stop_all()
        started = time.monotonic()
        with pytest.raises(StoreError) as raised:
            await store.get("k")
        took = time.monotonic() - started
        message = str(raised.value)
        assert "\n" not in message
        assert message.startswith(f"etcd at {members.url()[len('etcd://'):]} does not answer (")
        for member in members.members:
            assert f"{member.endpoint}: connection refused" in message
        assert took < store.members.retry_for + 3 * store.members.attempt_timeout
        members.start_all()
        assert (await store.get("k")).value == b"before"
    finally:
        await store.close()


async def test_a_lock_key_deleted_by_hand_is_noticed_by_the_next_refresh(store):
    lock = await store.acquire_lock("l", "me", TTL)
    await store.members.call(lambda client, _: client.delete(store._key("locks", "l")))
    with pytest.raises(LockLost, match="was deleted from the store"):
        await lock.refresh()
    assert await store.lock_info("l") is None


async def test_a_holder_reclaims_its_own_lock_on_the_same_lease(store):
    first = await store.acquire_lock("l", "serve-a pid 1", TTL)
    again = await store.acquire_lock("l", "serve-a pid 1", TTL, reclaim=True)
    assert (again.lease_id, again.since) == (first.lease_id, first.since)
    with pytest.raises(StoreError, match="is held by serve-a pid 1"):
        await store.acquire_lock("l", "serve-b pid 2", TTL)


@pytest.fixture
def lost_answers(store: EtcdStore, monkeypatch: pytest.MonkeyPatch) -> EtcdStore:
    """Every operation reaches etcd, its answer is lost, and it is tried again: what a member dying right
    after it applied a write looks like to the client."""

    async def applied_then_retried(operation):
        client = store.members.client(0)
        await operation(client, False)
        return await operation(client, True)

    monkeypatch.setattr(store.members, "call", applied_then_retried)
    return store


async def test_writes_whose_answer_was_lost_are_applied_exactly_once(store, lost_answers):
    assert await store.compare_and_swap("k", b"v1", 0)
    assert await store.compare_and_swap("k", b"v2", (await store.get("k")).version)
    assert not await store.compare_and_swap("k", b"v3", 0)
    assert await store.compare_and_swap_all([("a", b"1", 0), ("b", b"2", 0)])
    assert [(e.key, e.value) for e in await store.list("")] == [("a", b"1"), ("b", b"2"), ("k", b"v2")]
    event = await store.append_event("test", "once")
    assert [(e.seq, e.message) for e in await store.events()] == [(event.seq, "once")]
    await store.write_batch([("c", b"3")], ["a"], [Event(0, 1.0, "test", "batched", {})])
    assert [e.message for e in await store.events()] == ["once", "batched"]
    assert [(e.key, e.value) for e in await store.list("")] == [("b", b"2"), ("c", b"3"), ("k", b"v2")]
    lock = await store.acquire_lock("l", "me", TTL)
    assert (await store.lock_info("l")).holder == "me"
    assert await lock.release()
    assert await store.lock_info("l") is None


async def test_a_leader_whose_lock_key_is_deleted_by_hand_notices_on_its_next_step_and_takes_it_anew(store):
    heard = []
    side = Leadership(store, "kob/test/leader", "serve-a", TTL, on_change=lambda *change: heard.append(change))
    assert await side.step()
    first = (await side.leader()).since
    await store.members.call(lambda client, _: client.delete(store._key("locks", "kob/test/leader")))
    assert not await side.step()
    assert heard[-1] == (False, ("lost leadership: lock 'kob/test/leader' of serve-a was deleted from the store "
                                "(by hand?)"))
    assert await side.step()
    assert (await side.leader()).since > first
