"""Jobs and their logs in the store.

Keys, under the inventory's namespace (``kob/<inventory stem>/``):

    jobs/next-id                 the last id handed out (taken by compare-and-swap)
    jobs/queue/<id, 8 digits>    a Job
    jobs/logs/<id>/<attempt>     the end of an attempt's output, at most LOG_KEPT bytes

Changes to a job after its submission happen under the jobs lock (``lock()``), so two
dispatchers, or a dispatcher and `kob job cancel`, never act on the same job at once.
"""

from __future__ import annotations

import json
import os
from contextlib import AbstractAsyncContextManager

from kob.errors import KobError
from kob.jobs.model import FINAL, Job
from kob.store.base import Lock, Store

LOG_KEPT = 64 * 1024  # bytes of each attempt's output kept: the end, where the error usually is
ENDED_KEPT = 1000  # jobs that ended kept (with their output); older ones are forgotten
LOCK_TTL = 15.0


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
        job = Job.from_dict({**job.to_dict(), "id": number})
        await self.save(job)
        return job

    async def save(self, job: Job) -> None:
        await self.store.put(self._key(job.id), json.dumps(job.to_dict()).encode())

    async def get(self, job_id: int) -> Job:
        job = await self.find(job_id)
        if job is None:
            raise KobError(f"there is no job {job_id} (`kob job ls` lists them)")
        return job

    async def find(self, job_id: int) -> Job | None:
        entry = await self.store.get(self._key(job_id))
        return Job.from_dict(json.loads(entry.value)) if entry else None

    async def all(self) -> list[Job]:
        """Every job, oldest first."""
        return [Job.from_dict(json.loads(e.value)) for e in await self.store.list(self.prefix + "queue/")]

    async def keep_log(self, job_id: int, attempt: int, text: str) -> None:
        data = text.encode()[-LOG_KEPT:]
        await self.store.put(f"{self.prefix}logs/{job_id:08d}/{attempt}", data)

    async def log(self, job_id: int, attempt: int) -> str | None:
        entry = await self.store.get(f"{self.prefix}logs/{job_id:08d}/{attempt}")
        return entry.value.decode(errors="replace") if entry else None

    async def forget_old(self, keep: int = ENDED_KEPT) -> int:
        """Drop the oldest ended jobs and their output beyond the newest ``keep``; how many were dropped."""
        ended = [job for job in await self.all() if job.state in FINAL]
        old = ended[:max(0, len(ended) - keep)]
        for job in old:
            for attempt in job.attempts:
                await self.store.delete(f"{self.prefix}logs/{job.id:08d}/{attempt.number}")
            await self.store.delete(self._key(job.id))
        return len(old)

    def _key(self, job_id: int) -> str:
        return f"{self.prefix}queue/{job_id:08d}"
