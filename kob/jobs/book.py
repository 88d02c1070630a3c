"""Jobs and their logs in the store, with an index by state.

Keys, under the inventory's namespace (``kob/<inventory stem>/``):

    jobs/next-id                    the last id handed out (taken by compare-and-swap)
    jobs/queue/<id, 8 digits>       a Job
    jobs/state/<state>/<id>         empty: the index, one entry per job under its state
    jobs/indexed                    present once every job is in the index (older kob versions kept none)
    jobs/logs/<id>/<attempt>        the end of an attempt's output, at most LOG_KEPT bytes

A dispatch pass reads the queued and running jobs through the index, so its cost follows the
active jobs, not the up to ENDED_KEPT ended ones kept with their output.

The index is kept with compare-and-swap, without transactions: a save writes the entry under the
new state first, swaps the job in against the version it just read (and tries again if another
write came between), then deletes the entry under the old state and reads the job once more, putting
that entry back if the job has meanwhile returned to that state. So a job always has an entry under
its state; an entry may be stale for a moment (a crash between two writes), which readers skip by
checking the job itself, and which ``by_state(tidy=True)`` (the dispatcher, holding the lock) removes
by the same delete-then-check.

Changes to a job after its submission happen under the jobs lock (``lock()``), so two
dispatchers, or a dispatcher and `kob job cancel`, never act on the same job at once.
"""

from __future__ import annotations

import asyncio
import json
import os
from collections import Counter
from collections.abc import Iterable
from contextlib import AbstractAsyncContextManager

from kob.errors import KobError
from kob.jobs.model import ACTIVE, FINAL, Job
from kob.store.base import Entry, Lock, Store

LOG_KEPT = 64 * 1024  # bytes of each attempt's output kept: the end, where the error usually is
ENDED_KEPT = 1000  # jobs that ended kept (with their output); older ones are forgotten
LOCK_TTL = 15.0
STATES = (*ACTIVE, *FINAL)


class JobBook:
    def __init__(self, store: Store, namespace: str):
        self.store = store
        self.prefix = namespace.rstrip("/") + "/jobs/"

    def lock(self, holder: str, wait: float = 0) -> AbstractAsyncContextManager[Lock]:
        return self.store.lock(self.prefix + "lock", f"{holder} pid {os.getpid()}", LOCK_TTL, wait)

    async def submit(self, job: Job) -> Job:
        """Store ``job`` under the next free id (its own id is ignored)."""
        while True:
            entry = await self.store.get(self.prefix + "next-id")
            number = int(entry.value) + 1 if entry else 1
            if await self.store.compare_and_swap(self.prefix + "next-id", str(number).encode(),
                                                 entry.version if entry else 0):
                break
        if number == 1:
            await self.store.put(self.prefix + "indexed", b"1")  # the first job: none kept without an index
        job = Job.from_dict({**job.to_dict(), "id": number})
        await self.save(job)
        if await self.store.get(self._index(job.state, job.id)) is None:  # tidied away while the job was not there yet
            await self.store.put(self._index(job.state, job.id), b"")
        return job

    async def save(self, job: Job) -> None:
        key, data = self._key(job.id), json.dumps(job.to_dict()).encode()
        while True:
            entry = await self.store.get(key)
            old = _state(entry)
            if old != job.state:
                await self.store.put(self._index(job.state, job.id), b"")
            if await self.store.compare_and_swap(key, data, entry.version if entry else 0):
                break
        if old is not None and old != job.state:
            await self._unindex(old, job.id)

    async def get(self, job_id: int) -> Job:
        job = await self.find(job_id)
        if job is None:
            raise KobError(f"there is no job {job_id} (`kob job ls` lists them)")
        return job

    async def find(self, job_id: int) -> Job | None:
        entry = await self.store.get(self._key(job_id))
        return Job.from_dict(json.loads(entry.value)) if entry else None

    async def all(self) -> list[Job]:
        """Every job, oldest first (reads every job kept: `kob job ls --all`)."""
        return [Job.from_dict(json.loads(e.value)) for e in await self.store.list(self.prefix + "queue/")]

    async def by_state(self, states: Iterable[str], *, tidy: bool = False) -> list[Job]:
        """The jobs in ``states``, oldest first, read through the index; ``tidy`` (only under the jobs lock):
        remove the stale entries met (and index the jobs of an older kob first)."""
        if not await self._indexed():
            if not tidy:
                return [job for job in await self.all() if job.state in states]
            await self._index_every_job()
        ids = {state: await self._ids(state) for state in states}
        jobs = await self._read({job_id for found in ids.values() for job_id in found})
        if tidy:
            stale = [(state, job_id) for state, found in ids.items() for job_id in found
                     if jobs[job_id] is None or jobs[job_id].state != state]
            for state, job_id in stale:
                await self._unindex(state, job_id)
        return [job for job in jobs.values() if job is not None and job.state in states]

    async def counts_by_state(self) -> dict[str, int]:
        """How many jobs are in each state, from the index alone (an entry a crash left stale counts until the
        dispatcher tidies it)."""
        if not await self._indexed():
            jobs = await self.all()
            return {state: sum(j.state == state for j in jobs) for state in STATES}
        return {state: len(await self._ids(state)) for state in STATES}

    async def active_and_recent(self, ended: int) -> list[Job]:
        """The queued and running jobs and the newest ``ended`` that ended, oldest first."""
        if not await self._indexed():
            jobs = await self.all()
            done = [j for j in jobs if j.state in FINAL]
            return sorted([j for j in jobs if j.state in ACTIVE] + (done[-ended:] if ended else []), key=lambda j: j.id)
        return sorted(await self.by_state(ACTIVE) + await self._newest_ended(ended), key=lambda j: j.id)

    async def _newest_ended(self, count: int) -> list[Job]:
        """The newest ``count`` ended jobs, read backwards from the last id in chunks: ended jobs are forgotten
        oldest first, so a chunk with no job at all is below every ended job kept."""
        entry = await self.store.get(self.prefix + "next-id")
        high, done = int(entry.value) if entry else 0, []
        while count and high > 0 and len(done) < count:
            low = max(1, high - 2 * count + 1)
            chunk = await self._read(set(range(low, high + 1)))
            if all(job is None for job in chunk.values()):
                break
            done = [job for job in chunk.values() if job is not None and job.state in FINAL] + done
            high = low - 1
        return done[-count:] if count else []

    async def keep_log(self, job_id: int, attempt: int, text: str) -> None:
        data = text.encode()[-LOG_KEPT:]
        await self.store.put(f"{self.prefix}logs/{job_id:08d}/{attempt}", data)

    async def log(self, job_id: int, attempt: int) -> str | None:
        entry = await self.store.get(f"{self.prefix}logs/{job_id:08d}/{attempt}")
        return entry.value.decode(errors="replace") if entry else None

    async def forget_old(self, keep: int = ENDED_KEPT) -> int:
        """Drop the oldest ended jobs and their output beyond the newest ``keep``; how many were dropped.
        Under the jobs lock: only the ended jobs' index is listed, and only the dropped jobs are read."""
        if not await self._indexed():
            await self._index_every_job()
        final = sorted({job_id for state in FINAL for job_id in await self._ids(state)})
        dropped = 0
        for job in (await self._read(set(final[:max(0, len(final) - keep)]))).values():
            if job is None or job.state not in FINAL:
                continue
            for attempt in job.attempts:
                await self.store.delete(f"{self.prefix}logs/{job.id:08d}/{attempt.number}")
            await self.store.delete(self._key(job.id))
            await self.store.delete(self._index(job.state, job.id))
            dropped += 1
        return dropped

    async def _read(self, ids: set[int]) -> dict[int, Job | None]:
        """The jobs ``ids`` (None: not kept), by id. Runs of ids are read with one list each (see id_blocks):
        far fewer store round trips than a get per job, and never more than twice the records wanted."""
        blocks, single = id_blocks(ids)
        listed = await asyncio.gather(*(self.store.list(f"{self.prefix}queue/{digits}") for digits in blocks))
        found = {job.id: job for entries in listed for job in (Job.from_dict(json.loads(e.value)) for e in entries)}
        for job_id, job in zip(single, await asyncio.gather(*(self.find(job_id) for job_id in single))):
            found[job_id] = job
        return {job_id: found.get(job_id) for job_id in sorted(ids)}

    async def _ids(self, state: str) -> list[int]:
        prefix = f"{self.prefix}state/{state}/"
        return [int(e.key[len(prefix):]) for e in await self.store.list(prefix)]

    async def _unindex(self, state: str, job_id: int) -> None:
        """Delete the job's entry under ``state``, then put it back if the job is (again) in that state."""
        await self.store.delete(self._index(state, job_id))
        if _state(await self.store.get(self._key(job_id))) == state:
            await self.store.put(self._index(state, job_id), b"")

    async def _indexed(self) -> bool:
        return await self.store.get(self.prefix + "indexed") is not None

    async def _index_every_job(self) -> None:
        """Once, for jobs an older kob kept without an index (under the jobs lock)."""
        for job in await self.all():
            await self.store.put(self._index(job.state, job.id), b"")
        await self.store.put(self.prefix + "indexed", b"1")

    def _key(self, job_id: int) -> str:
        return f"{self.prefix}queue/{job_id:08d}"

    def _index(self, state: str, job_id: int) -> str:
        return f"{self.prefix}state/{state}/{job_id:08d}"


def id_blocks(ids: set[int], digits: int = 8) -> tuple[list[str], list[int]]:
    """Cover ``ids`` with blocks of 10, 100, ... consecutive ids, each at least half wanted, named by the
    leading digits their keys share (``0000012``: jobs 120 to 129); the ids left over, one by one."""
    blocks, left = [], set(ids)
    for width in range(digits - 1, 0, -1):
        size = 10 ** width
        for block, count in Counter(job_id // size for job_id in left).items():
            if count * 2 >= size:
                blocks.append(f"{block * size:0{digits}d}"[:digits - width])
                left -= set(range(block * size, (block + 1) * size))
    return sorted(blocks), sorted(left)


def _state(entry: Entry | None) -> str | None:
    return json.loads(entry.value)["state"] if entry else None
