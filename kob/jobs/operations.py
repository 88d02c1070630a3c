"""What `kob job logs | cancel | dispatch` do, for one inventory: each takes the store and the transport."""

from __future__ import annotations

import asyncio
from typing import Callable

from kob.errors import KobError, LockHeld, TransportError
from kob.identity import namespace, operator
from kob.jobs.book import JobBook
from kob.jobs.dispatch import DispatchReport, Dispatcher
from kob.jobs.model import ACTIVE, FINAL, Attempt, Job
from kob.spec.inventory import Inventory
from kob.store.base import Store
from kob.transport.base import Transport

LOCK_WAIT = 30.0  # seconds a cancel waits for a dispatch pass to finish
FOLLOW_POLL = 1.0  # seconds between looks at the store while `kob job logs -f` waits for an attempt


async def job_output(inventory: Inventory, store: Store, transport: Transport, job_id: int, attempt: int | None,
                     follow: bool, say: Callable[..., None]) -> None:
    """An attempt's output (default: the last): from its host while it runs, else kept; with ``follow``,
    until the job ends, into its retries."""
    book = JobBook(store, namespace(inventory))
    job = await book.get(job_id)
    number = attempt or len(job.attempts)
    if follow:
        await _follow_job(inventory, book, transport, job, max(number, 1), say)
        return
    current = job.current
    if current and current.number == number:
        await Dispatcher(inventory, store, transport).follow_output(current, say, follow=False)
        return
    kept = await book.log(job_id, number) if number else None
    if kept is None:
        raise KobError(f"job {job_id} has no output kept for attempt {number or 1} (state {job.state})")
    say(kept, nl=False)


async def _follow_job(inventory: Inventory, book: JobBook, transport: Transport, job: Job, number: int,
                      say: Callable[..., None]) -> None:
    """Attempt ``number``'s output, then each later attempt's (a line names it), until the job has ended.

    A running attempt is followed on its host; one that ended is read from the store. Between attempts
    (its backoff, or until a dispatch pass starts the next) the store is asked every FOLLOW_POLL s."""
    dispatcher, first = Dispatcher(inventory, book.store, transport), number
    while True:
        job = await _attempt_or_end(book, job.id, number)
        if len(job.attempts) < number:
            return  # the job ended before this attempt
        attempt = job.attempts[number - 1]
        if number > first:
            say(f"--- job {job.id}, attempt {number} on {attempt.host} ---")
        streamed = False
        if attempt.ended is None:
            streamed = await _follow_attempt(dispatcher, book, job.id, attempt, say)
            if streamed and len(job.attempts) > job.retries:
                return  # the last try: no later attempt to wait for
            job = await _attempt_ended(book, job.id, number)
        if not streamed:
            kept = await book.log(job.id, number)
            if kept:
                say(kept, nl=False)
        number += 1


async def _follow_attempt(dispatcher: Dispatcher, book: JobBook, job_id: int, attempt: Attempt,
                          say: Callable[..., None]) -> bool:
    """A running attempt's output from its host as it comes; False when it could not be followed (its host
    did not answer, or its container is gone before the store says it ended: then its kept output is shown).
    A container not there yet (the job is saved as running just before docker run) is looked for again."""
    while True:
        try:
            if await dispatcher.follow_output(attempt, say, follow=True):
                return True
        except TransportError as error:
            say(f"! {error}; its output is shown once the attempt has ended", err=True)
            return False
        if (await book.get(job_id)).attempts[attempt.number - 1].ended is not None:
            return False
        await asyncio.sleep(FOLLOW_POLL)


async def _attempt_or_end(book: JobBook, job_id: int, number: int) -> Job:
    """The job once it has attempt ``number`` or has ended."""
    while True:
        job = await book.get(job_id)
        if len(job.attempts) >= number or job.state in FINAL:
            return job
        await asyncio.sleep(FOLLOW_POLL)


async def _attempt_ended(book: JobBook, job_id: int, number: int) -> Job:
    """The job once its attempt ``number`` has ended (a dispatch pass saw it end)."""
    while True:
        job = await book.get(job_id)
        if job.attempts[number - 1].ended is not None:
            return job
        await asyncio.sleep(FOLLOW_POLL)


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
