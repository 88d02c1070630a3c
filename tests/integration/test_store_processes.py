"""Several OS processes on one store: no lost update, no duplicate seq, no stuck lock."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from kob.errors import LockHeld

pytestmark = pytest.mark.parametrize(
    "backend", ["sqlite", pytest.param("etcd", marks=pytest.mark.etcd)], indirect=True
)

# Each child opens the store, says "ready", waits for a line on stdin so that
# all start together, works, and prints one JSON line. The appender pauses
# after each event to let the other in: SQLite's busy handler backs off, so
# one process could otherwise finish before the other gets a turn. The counter
# does not pause: back-to-back writes are what exposes a non-atomic CAS.
COUNTING_CHILD = """
import asyncio, json, sys
from kob.store import open_store

async def main(url, increments):
    async with open_store(url) as store:
        await store.get("counter")
        print("ready", flush=True)
        sys.stdin.readline()
        conflicts = 0
        for _ in range(increments):
            while True:
                entry = await store.get("counter")
                count, version = (int(entry.value), entry.version) if entry else (0, 0)
                if await store.compare_and_swap("counter", b"%d" % (count + 1), version):
                    break
                conflicts += 1
        print(json.dumps({"conflicts": conflicts}), flush=True)

asyncio.run(main(sys.argv[1], int(sys.argv[2])))
"""

APPENDING_CHILD = """
import asyncio, json, sys
from kob.store import open_store

async def main(url, writer, count):
    async with open_store(url) as store:
        await store.events(limit=1)
        print("ready", flush=True)
        sys.stdin.readline()
        seqs = []
        for n in range(count):
            seqs.append((await store.append_event("tick", "tick", {"writer": writer, "n": n})).seq)
            await asyncio.sleep(0.001)
        print(json.dumps({"seqs": seqs}), flush=True)

asyncio.run(main(sys.argv[1], sys.argv[2], int(sys.argv[3])))
"""

LOCKING_CHILD = """
import asyncio, os, sys
from kob.store import open_store

async def main(url, ttl):
    async with open_store(url) as store:
        async with store.lock("deploy", f"process-{os.getpid()}", ttl):
            print("locked", flush=True)
            await asyncio.sleep(3600)

asyncio.run(main(sys.argv[1], float(sys.argv[2])))
"""


def start(script: str, *args: object) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", script, *map(str, args)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip


def run_together(children: list[subprocess.Popen]) -> list[dict]:
    """Wait until every child is ready, start them at once, collect their JSON."""
    try:
        for child in children:
            assert child.stdout.readline().strip() == "ready"
        for child in children:
            child.stdin.write("go\n")
            child.stdin.flush()
        outputs = [child.communicate(timeout=60)[0] for child in children]
        assert [child.returncode for child in children] == [0] * len(children)
        return [json.loads(output) for output in outputs]
    finally:
        for child in children:
            stop(child)


def stop(child: subprocess.Popen) -> None:
    """Kill the child if it still runs, reap it and close its pipes."""
    child.kill()
    child.communicate(timeout=10)


async def test_two_processes_counting_with_compare_and_swap_lose_no_update(backend, store):
    increments = 200
    results = run_together([start(COUNTING_CHILD, backend.url, increments) for _ in range(2)])
    assert (await store.get("counter")).value == b"%d" % (2 * increments)
    assert sum(result["conflicts"] for result in results) > 0, "the processes did not overlap"


async def test_two_processes_appending_events_get_unique_increasing_seqs(backend, store):
    count = 200
    results = run_together([start(APPENDING_CHILD, backend.url, writer, count) for writer in ("a", "b")])
    events = await store.events(limit=10 * count)
    seqs = [event.seq for event in events]
    assert seqs == sorted(set(seqs)) and len(seqs) == 2 * count
    assert sorted(seqs) == sorted(results[0]["seqs"] + results[1]["seqs"])
    for writer in ("a", "b"):
        assert [e.fields["n"] for e in events if e.fields["writer"] == writer] == list(range(count))
    writers_in_seq_order = "".join(event.fields["writer"] for event in events)
    assert "ab" in writers_in_seq_order and "ba" in writers_in_seq_order, "the processes did not overlap"


async def test_the_lock_of_a_killed_process_is_kept_alive_then_expires(backend, store):
    child = start(LOCKING_CHILD, backend.url, backend.lock_ttl)
    try:
        assert child.stdout.readline().strip() == "locked"
        time.sleep(backend.beyond_expiry)  # the child's refreshes keep it held past its ttl
        with pytest.raises(LockHeld) as raised:
            await store.acquire_lock("deploy", "survivor", ttl=30)
        assert raised.value.holder == f"process-{child.pid}"
        os.kill(child.pid, signal.SIGKILL)
        taken = await store.acquire_lock("deploy", "survivor", ttl=30, wait=backend.beyond_expiry + 2)
        await taken.release()
    finally:
        stop(child)
