"""The job book's index by state (kob.jobs.book): what it lists, how it stays right, what a pass reads."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from kob.jobs import model
from kob.jobs.book import JobBook
from kob.jobs.model import ACTIVE, FINAL, Job
from kob.store.memory import MemoryStore

NS = "kob/shop"


def job(job_id: int = 0, **fields) -> Job:
    return Job(job_id, "report", "busybox:1", ("true",), submitted=1.0, who="ann@desk", **fields)


def ran(j: Job, outcome: str = "succeeded") -> Job:
    return model.ended(model.started(j, "vm1", f"kob-job-{j.id}-1", 2.0), outcome, 3.0)


class CountingStore(MemoryStore):
    """A memory store that counts the job records it hands out (by get or list)."""

    def __init__(self):
        super().__init__()
        self.records_read = 0

    async def get(self, key):
        entry = await super().get(key)
        self.records_read += bool(entry and "/jobs/queue/" in key)
        return entry

    async def list(self, prefix):
        entries = await super().list(prefix)
        self.records_read += sum("/jobs/queue/" in e.key for e in entries)
        return entries


async def index(store) -> dict[str, list[int]]:
    found: dict[str, list[int]] = {}
    for e in await store.list(f"{NS}/jobs/state/"):
        state, number = e.key.split("/")[-2:]
        found.setdefault(state, []).append(int(number))
    return found


async def test_each_job_is_indexed_under_its_state_only():
    store = MemoryStore()
    book = JobBook(store, NS)
    _, second, third = [await book.submit(job()) for _ in range(3)]
    await book.save(model.started(second, "vm1", "kob-job-2-1", 2.0))
    await book.save(ran(third, "failed"))
    assert await index(store) == {"queued": [1], "running": [2], "failed": [3]}
    assert [j.id for j in await book.by_state(ACTIVE)] == [1, 2]
    assert [j.id for j in await book.by_state(("failed",))] == [3]


async def test_a_stale_entry_is_skipped_and_tidied_under_the_lock():
    store = MemoryStore()
    book = JobBook(store, NS)
    await book.submit(job())
    await store.put(f"{NS}/jobs/state/running/00000001", b"")  # a writer died between its two index writes
    await store.put(f"{NS}/jobs/state/queued/00000009", b"")  # ... or before the job was saved
    assert [(j.id, j.state) for j in await book.by_state(ACTIVE)] == [(1, "queued")]
    await book.by_state(ACTIVE, tidy=True)
    assert await index(store) == {"queued": [1]}


async def test_a_job_moved_back_while_its_old_entry_is_deleted_keeps_its_entry():
    """Writer A moves job 1 queued → running; before A deletes the queued entry, writer B (a dispatcher whose
    lock had expired, say) moves it back to queued. The job must stay findable as queued."""
    store = MemoryStore()
    book = JobBook(store, NS)
    queued = await book.submit(job())
    running = model.started(queued, "vm1", "kob-job-1-1", 2.0)
    delete = store.delete

    async def delete_after_b(key):
        if key.endswith("state/queued/00000001"):
            store.delete = delete
            await JobBook(store, NS).save(model.ended(running, "lost", 3.0, retry_at=4.0))
        return await delete(key)

    store.delete = delete_after_b
    await book.save(running)
    assert (await book.get(1)).state == "queued"
    assert [j.id for j in await book.by_state(("queued",))] == [1]


async def test_jobs_kept_by_an_older_kob_are_read_whole_until_a_dispatcher_indexes_them():
    store = MemoryStore()
    for n, state in ((1, "queued"), (2, "succeeded")):  # as kob kept them before the index
        await store.put(f"{NS}/jobs/queue/{n:08d}", json.dumps(replace(job(n), state=state).to_dict()).encode())
    await store.put(f"{NS}/jobs/next-id", b"2")
    book = JobBook(store, NS)
    assert [j.id for j in await book.by_state(ACTIVE)] == [1]
    assert await index(store) == {}
    assert [j.id for j in await book.by_state(ACTIVE, tidy=True)] == [1]
    assert await index(store) == {"queued": [1], "succeeded": [2]}
    third = await book.submit(job())
    assert [j.id for j in await book.by_state(ACTIVE)] == [1, third.id]


async def test_active_and_recent_reads_only_those_records():
    store = CountingStore()
    book = JobBook(store, NS)
    for n in range(300):
        await book.save(ran(job(n + 1)))
    await book.store.put(f"{NS}/jobs/next-id", b"300")
    await book.store.put(f"{NS}/jobs/indexed", b"1")  # as in a store whose first job this kob submitted
    await book.submit(job())
    store.records_read = 0
    shown = await book.active_and_recent(20)
    assert [j.id for j in shown] == [*range(281, 301), 301]
    assert store.records_read < 3 * 21  # a chunk of twice the ended ones shown, and the active one; not all 300


async def test_a_dispatch_pass_reads_the_active_jobs_not_every_ended_one():
    from pathlib import Path

    from kob.errors import HostUnreachable
    from kob.jobs.dispatch import Dispatcher
    from kob.spec.inventory import Host, Inventory
    from tests.helpers.fake_transport import ScriptedTransport

    store = CountingStore()
    book = JobBook(store, "kob/shop")
    await book.submit(job())
    for n in range(2, 502):
        await book.save(ran(job(n)))
    store.records_read = 0
    inventory = Inventory(Path("shop.yaml"), (Host("vm1", "198.18.0.11"),))
    fake = ScriptedTransport([("vm1", "", HostUnreachable("vm1", "no route"))])  # so job 1 waits
    report = await Dispatcher(inventory, store, fake, say=lambda line: None).dispatch()
    assert report.active == 1 and store.records_read <= 4  # job 1, read twice; none of the 500 ended ones


async def test_forgetting_old_jobs_reads_only_those_it_drops():
    store = CountingStore()
    book = JobBook(store, NS)
    await book.submit(job())
    for n in range(2, 12):
        await book.save(ran(job(n)))
        await book.keep_log(n, 1, f"out {n}")
    store.records_read = 0
    assert await book.forget_old(keep=4) == 6
    assert 6 <= store.records_read <= 2 * 6  # the dropped jobs (in blocks: at most twice as many)
    assert await index(store) == {"queued": [1], "succeeded": [8, 9, 10, 11]}
    assert await book.log(7, 1) is None and await book.log(8, 1) == "out 8"
    assert {j.state for j in await book.all()} <= {*ACTIVE, *FINAL} and len(await book.all()) == 5


@pytest.mark.parametrize("ids, blocks, single", [
    (set(), [], []),
    ({7}, [], [7]),
    (set(range(120, 125)), ["0000012"], []),  # 5 of 10: listed together
    (set(range(120, 124)), [], [120, 121, 122, 123]),  # 4 of 10: one by one
    (set(range(1, 10000)) | {12345}, ["0000"], [12345]),
    (set(range(300, 350)) | {351, 999}, ["000003"], [999]),
    ({1, 2, 3, 4, 5, 99999998}, ["0000000"], [99999998]),
])
def test_runs_of_ids_are_read_as_blocks(ids, blocks, single):
    from kob.jobs.book import id_blocks

    assert id_blocks(ids) == (blocks, single)


async def test_reading_through_blocks_gives_the_jobs_asked_for_and_only_those():
    store = MemoryStore()
    book = JobBook(store, NS)
    for _ in range(40):
        await book.submit(job())
    for n in (3, 15, 16, 17, 18, 19, 35):
        await book.save(ran(await book.get(n)))
    assert [j.id for j in await book.by_state(("succeeded",))] == [3, 15, 16, 17, 18, 19, 35]
    assert [j.id for j in await book.by_state(("queued",))] == [n for n in range(1, 41)
                                                                  if n not in (3, 15, 16, 17, 18, 19, 35)]


async def test_the_newest_ended_jobs_are_found_behind_a_long_queue_and_above_forgotten_ones():
    store = MemoryStore()
    book = JobBook(store, NS)
    for n in range(1, 201):
        submitted = await book.submit(job())
        if n <= 60 or 150 < n <= 155:
            await book.save(ran(submitted))
    assert await book.forget_old(keep=10) == 55  # 1..55 forgotten; 56..60 and 151..155 kept
    shown = await book.active_and_recent(8)
    ended = [j.id for j in shown if j.state in FINAL]
    assert ended == [58, 59, 60, 151, 152, 153, 154, 155]
    assert len(shown) == 8 + 135  # and every queued one (200 - 65 that ran)
    assert [j.id for j in (await book.active_and_recent(0))] == [j.id for j in await book.by_state(ACTIVE)]


async def test_counts_by_state_come_from_the_index_and_from_an_older_kobs_records_alike():
    store = MemoryStore()
    book = JobBook(store, NS)
    _, second, third, fourth = [await book.submit(job()) for _ in range(4)]
    await book.save(model.started(second, "vm1", "kob-job-2-1", 2.0))
    await book.save(ran(third, "failed"))
    await book.save(ran(fourth))
    expected = {"queued": 1, "running": 1, "succeeded": 1, "failed": 1, "cancelled": 0, "lost": 0}
    assert await book.counts_by_state() == expected
    older = MemoryStore()  # the same jobs as kob kept them before the index
    for j in await book.all():
        await older.put(f"{NS}/jobs/queue/{j.id:08d}", json.dumps(j.to_dict()).encode())
    assert await JobBook(older, NS).counts_by_state() == expected
