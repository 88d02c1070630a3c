"""What `kob job logs | cancel | dispatch` do, for one inventory: each takes the store and the transport."""

from __future__ import annotations

import asyncio
from typing import Callable

from kob.errors import KobError, LockHeld
from kob.identity import namespace, operator
from kob.jobs.book import JobBook
from kob.jobs.dispatch import DispatchReport, Dispatcher
from kob.jobs.model import ACTIVE, Job
from kob.spec.inventory import Inventory
from kob.store.base import Store
from kob.transport.base import Transport

LOCK_WAIT = 30.0  # seconds a cancel waits for a dispatch pass to finish


async def job_output(inventory: Inventory, store: Store, transport: Transport, job_id: int, attempt: int | None,
                     follow: bool, say: Callable[..., None]) -> None:
    """An attempt's output (default: the last): from its host while it runs (``follow``: until it ends), else kept."""
    book = JobBook(store, namespace(inventory))
    job = await book.get(job_id)
    number = attempt or len(job.attempts)
    current = job.current
    if current and current.number == number:
        await Dispatcher(inventory, store, transport).follow_output(current, say, follow)
        return
    kept = await book.log(job_id, number) if number else None
    if kept is None:
        raise KobError(f"job {job_id} has no output kept for attempt {number or 1} (state {job.state})")
    say(kept, nl=False)


async def cancel_job(inventory: Inventory, store: Store, transport: Transport, job_id: int,
                     say: Callable[[str], None]) -> Job:
    """Cancel a queued job, or stop a running one on its host, under the jobs lock."""
    book = JobBook(store, namespace(inventory))
    async with book.lock(operator(), wait=LOCK_WAIT):
        job = await book.get(job_id)
        if job.state not in ACTIVE:
            raise KobError(f"job {job_id} already ended: {job.state}")
        return await Dispatcher(inventory, store, transport, say=say).cancel(job)


async def dispatch_passes(inventory: Inventory, store: Store, transport: Transport, *, until_done: bool,
                          every: float, say: Callable[[str], None]) -> DispatchReport | None:
    """One dispatch pass (or, ``until_done``, one every ``every`` s until no job is active); None: lock held."""
    dispatcher = Dispatcher(inventory, store, transport, say=say)
    while True:
        try:
            async with dispatcher.book.lock(operator()):
                report = await dispatcher.dispatch()
        except LockHeld as held:
            say(f"{held}; this pass is skipped")
            report = None
        if not until_done or (report is not None and not report.active):
            return report
        await asyncio.sleep(every)
