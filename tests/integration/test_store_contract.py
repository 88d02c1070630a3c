"""One contract, four backends: memory, sqlite, a real etcd server, and a store lent by a connection holder."""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import time

import pytest

from kob.errors import LockHeld, StoreError
from kob.store import Entry, Event

pytestmark = pytest.mark.parametrize(
    "backend", ["memory", "sqlite", pytest.param("etcd", marks=pytest.mark.etcd), "lent"], indirect=True
)


async def test_put_get_delete_round_trip(store):
    assert await store.get("services/web/spec") is None
    first = await store.put("services/web/spec", b"image: nginx")
    assert first > 0
    assert await store.get("services/web/spec") == Entry("services/web/spec", b"image: nginx", first)
    second = await store.put("services/web/spec", b"\x00\xffbinary")
    assert second > first
    assert await store.get("services/web/spec") == Entry("services/web/spec", b"\x00\xffbinary", second)
    assert await store.delete("services/web/spec") is True
    assert await store.get("services/web/spec") is None
    assert await store.delete("services/web/spec") is False


async def test_a_version_is_never_reused_after_delete(store):
    before_delete = await store.put("replicas/web", b"3")
    await store.delete("replicas/web")
    recreated = await store.put("replicas/web", b"3")
    assert recreated > before_delete
    assert await store.compare_and_swap("replicas/web", b"4", before_delete) is False


KEYS = ["services/web/revisions/10", "services/web/revisions/2", "services/webx", "services/api", "hosts/vm1"]


@pytest.mark.parametrize(
    ("prefix", "expected_keys"),
    [
        ("services/web/", ["services/web/revisions/10", "services/web/revisions/2"]),
        ("services/web", ["services/web/revisions/10", "services/web/revisions/2", "services/webx"]),
        ("services/", ["services/api", "services/web/revisions/10", "services/web/revisions/2", "services/webx"]),
        ("", sorted(KEYS)),
        ("nothing/", []),
    ],
)
async def test_list_returns_the_prefix_sorted_by_key(store, prefix, expected_keys):
    versions = {key: await store.put(key, key.encode()) for key in KEYS}
    listed = await store.list(prefix)
    assert listed == [Entry(key, key.encode(), versions[key]) for key in expected_keys]


async def test_list_takes_exactly_the_prefix_at_the_edges_of_its_range(store):
    keys = ["jobs/state/", "jobs/state/queued/1", "jobs/state0", "jobs/statf", "jobs/stat", "a/é", "a/é/1", "a/éx",
            "a/ê", "a/e\U0010ffff", "a/f"]
    for key in keys:
        await store.put(key, b"")
    assert [e.key for e in await store.list("jobs/state/")] == ["jobs/state/", "jobs/state/queued/1"]
    assert [e.key for e in await store.list("a/é")] == ["a/é", "a/é/1", "a/éx"]
    assert [e.key for e in await store.list("a/e")] == ["a/e\U0010ffff"]


@pytest.mark.parametrize(
    ("writes_before", "expected_version", "swapped"),
    [
        pytest.param([], lambda versions: 0, True, id="absent-expect-0"),
        pytest.param([], lambda versions: 10**9, False, id="absent-expect-some-version"),
        pytest.param([b"1"], lambda versions: 0, False, id="present-expect-0"),
        pytest.param([b"1"], lambda versions: versions[-1], True, id="present-expect-current"),
        pytest.param([b"1", b"2"], lambda versions: versions[0], False, id="present-expect-stale"),
    ],
)
async def test_compare_and_swap_writes_only_at_the_expected_version(store, writes_before, expected_version, swapped):
    versions = [await store.put("counter", value) for value in writes_before]
    before = await store.get("counter")
    assert await store.compare_and_swap("counter", b"new", expected_version(versions)) is swapped
    after = await store.get("counter")
    if swapped:
        assert after.value == b"new"
        assert after.version > (before.version if before else 0)
    else:
        assert after == before


async def test_a_held_lock_raises_lock_held_naming_the_holder(store, open_other):
    lock = await store.acquire_lock("deploy", "alice@vm1", ttl=30)
    other = open_other()
    for contender in ("bob@vm2", "alice@vm1"):  # not re-entrant, not even for the same name
        with pytest.raises(LockHeld) as raised:
            await other.acquire_lock("deploy", contender, ttl=30)
        assert (raised.value.name, raised.value.holder) == ("deploy", "alice@vm1")
        assert raised.value.since == pytest.approx(lock.since, abs=0.01)
    info = await other.lock_info("deploy")
    assert (info.name, info.holder) == ("deploy", "alice@vm1")
    assert info.since <= time.time() < info.expires_at <= time.time() + 31
    await lock.release()


async def test_release_frees_the_lock_at_once(store, open_other):
    lock = await store.acquire_lock("deploy", "alice", ttl=30)
    assert await lock.release() is True
    assert await store.lock_info("deploy") is None
    taken = await open_other().acquire_lock("deploy", "bob", ttl=30)
    assert taken.holder == "bob"
    assert await lock.release() is False  # alice's old handle does not free bob's lock
    assert (await store.lock_info("deploy")).holder == "bob"
    await taken.release()


async def test_waiting_gets_the_lock_when_the_holder_releases(store, open_other):
    lock = await store.acquire_lock("deploy", "alice", ttl=30)
    asyncio.get_running_loop().call_later(0.2, lambda: asyncio.ensure_future(lock.release()))
    started = time.monotonic()
    taken = await open_other().acquire_lock("deploy", "bob", ttl=30, wait=5)
    assert 0.15 < time.monotonic() - started < 5
    assert (await store.lock_info("deploy")).holder == "bob"
    await taken.release()


async def test_a_lock_whose_holder_vanished_expires_after_its_ttl(store, open_other, backend):
    vanishing = open_other()
    before_acquiring = time.monotonic()  # a slow acquire only moves the expiry later than this + ttl
    await vanishing.acquire_lock("deploy", "crashed", ttl=backend.lock_ttl)
    await vanishing.close()  # no release, no refresh
    with pytest.raises(LockHeld):
        await store.acquire_lock("deploy", "bob", ttl=30)
    taken = await store.acquire_lock("deploy", "bob", ttl=30, wait=backend.beyond_expiry + 2)
    assert time.monotonic() - before_acquiring >= backend.lock_ttl * 0.9
    await taken.release()


def reaped_pid() -> int:
    """The pid of a process of this machine that ran and has been reaped."""
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


async def test_a_lock_left_by_a_process_that_died_on_this_machine_is_freed_at_once(store, open_other):
    dead = f"alice@{socket.gethostname()} pid {reaped_pid()}"
    await open_other().acquire_lock("deploy", dead, ttl=30)  # never released: the process was SIGKILLed
    taken = await store.acquire_lock("deploy", "bob", ttl=30)
    assert (await store.lock_info("deploy")).holder == "bob"
    await taken.release()


@pytest.mark.parametrize("holder", [
    pytest.param(f"alice@{socket.gethostname()} pid {os.getpid()}", id="this-process"),
    pytest.param(f"alice@{socket.gethostname()} pid 1", id="a-running-pid"),
    pytest.param("alice@another-machine pid 999999", id="another-machine"),
    pytest.param("crashed", id="no-pid"),
])
async def test_a_lock_of_a_live_or_unknown_holder_is_not_freed(store, open_other, holder):
    held = await open_other().acquire_lock("deploy", holder, ttl=30)
    with pytest.raises(LockHeld):
        await store.acquire_lock("deploy", "bob", ttl=30)
    assert (await store.lock_info("deploy")).holder == holder
    await held.release()


async def test_the_lock_context_keeps_it_alive_beyond_its_ttl_and_releases_on_exit(store, open_other, backend):
    other = open_other()
    async with store.lock("deploy", "alice", ttl=backend.lock_ttl) as lock:
        assert lock.holder == "alice"
        await asyncio.sleep(backend.beyond_expiry)
        with pytest.raises(LockHeld) as raised:
            await other.acquire_lock("deploy", "bob", ttl=30)
        assert raised.value.holder == "alice"
    assert await store.lock_info("deploy") is None
    await (await other.acquire_lock("deploy", "bob", ttl=30)).release()


@pytest.mark.parametrize("taken_meanwhile", [True, False], ids=["taken-meanwhile", "not-taken"])
async def test_the_lock_context_reports_a_lock_lost_while_the_process_stalled(
    store, open_other, backend, taken_meanwhile
):
    other = open_other()
    with pytest.raises(StoreError, match="expired while held"):
        async with store.lock("deploy", "alice", ttl=backend.lock_ttl):
            time.sleep(backend.beyond_expiry)  # blocks the loop: no refresh can run
            if taken_meanwhile:
                await other.acquire_lock("deploy", "bob", ttl=30, wait=3)
            else:
                await asyncio.sleep(backend.lock_ttl / 2)  # a refresh must not revive it
    info = await store.lock_info("deploy")
    assert (info.holder if info else None) == ("bob" if taken_meanwhile else None)


async def test_events_come_back_oldest_first_as_appended(store):
    before = time.time()
    appended = [
        await store.append_event("deploy", "web: 3 replicas", {"service": "web", "hosts": ["vm1", "vm2"]}),
        await store.append_event("scale", "web: 3 -> 5", None),
        await store.append_event("health", "vm2 unreachable", {"nested": {"ok": False, "load": 1.5}}),
    ]
    assert [event.seq for event in appended] == sorted({event.seq for event in appended})
    assert all(before <= event.time <= time.time() for event in appended)
    assert appended[1].fields == {}
    assert await store.events() == appended
    assert isinstance(appended[0], Event)


@pytest.mark.parametrize(
    ("after_index", "limit", "expected_indexes"),
    [
        (None, 100, [0, 1, 2, 3, 4]),
        (None, 2, [0, 1]),
        (1, 2, [2, 3]),
        (3, 100, [4]),
        (4, 100, []),
        (None, 0, []),
    ],
)
async def test_events_after_a_seq_with_a_limit(store, after_index, limit, expected_indexes):
    appended = [await store.append_event("tick", f"tick {n}") for n in range(5)]
    after_seq = 0 if after_index is None else appended[after_index].seq
    assert await store.events(after_seq, limit) == [appended[i] for i in expected_indexes]


@pytest.mark.parametrize(("keep", "kept"), [(0, 0), (2, 2), (5, 5), (50, 5)])
async def test_trim_keeps_the_newest_events_and_never_reuses_a_seq(store, keep, kept):
    appended = [await store.append_event("tick", f"tick {n}") for n in range(5)]
    await store.trim_events(keep)
    assert await store.events() == appended[len(appended) - kept:]
    later = await store.append_event("tick", "after trim")
    assert later.seq > appended[-1].seq
    assert (await store.events())[-1] == later


async def test_write_batch_deletes_puts_and_appends_events_with_their_time(store):
    await store.put("ns/old", b"gone")
    await store.put("ns/kept", b"before")
    first = await store.append_event("tick", "already there")
    await store.write_batch([("ns/kept", b"after"), ("ns/new", b"\x00\xff")], ["ns/old", "ns/never-there"],
                            [Event(0, 100.5, "deploy", "web: revision 1", {"ns": "ns", "n": [1, {"a": None}]}),
                             Event(0, 50.25, "scale", "web: 1 -> 2", {})])
    assert [(e.key, e.value) for e in await store.list("ns/")] == [("ns/kept", b"after"), ("ns/new", b"\x00\xff")]
    later = await store.events(first.seq)
    assert [(e.time, e.kind, e.message, e.fields) for e in later] == [
        (100.5, "deploy", "web: revision 1", {"ns": "ns", "n": [1, {"a": None}]}), (50.25, "scale", "web: 1 -> 2", {})]
    assert first.seq < later[0].seq < later[1].seq
    next_event = await store.append_event("tick", "after the batch")
    assert next_event.seq > later[1].seq


async def test_write_batch_and_list_larger_than_one_etcd_transaction_and_reply(store):
    # 300 keys and 6 MB: several transactions, several pages of list, more than gRPC's default reply of 4 MiB
    puts = [(f"big/{n:04d}", b"x" * 20000) for n in range(300)]
    events = [Event(0, float(n), "tick", f"tick {n}", {"n": n}) for n in range(250)]
    await store.write_batch(puts, [], events)
    assert [(e.key, e.value) for e in await store.list("big/")] == puts
    kept = await store.events(0, 1000)
    assert [e.message for e in kept] == [f"tick {n}" for n in range(250)]
    assert [e.seq for e in kept] == sorted({e.seq for e in kept})


async def test_compare_and_swap_all_writes_every_key_or_none(store):
    version = await store.put("scale/web", b"3")
    changes = [("scale/web", b"5", version), ("scale/api", b"2", 0)]
    assert await store.compare_and_swap_all([("scale/web", b"5", version), ("scale/api", b"2", 7)]) is False
    assert (await store.get("scale/web")).value == b"3" and await store.get("scale/api") is None
    assert await store.compare_and_swap_all(changes) is True
    assert [(e.key, e.value) for e in await store.list("scale/")] == [("scale/api", b"2"), ("scale/web", b"5")]
    assert await store.compare_and_swap_all(changes) is False  # the versions moved on
