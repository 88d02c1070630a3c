"""What every backend shares: waiting for a lock, keeping it alive, closing.

A backend subclasses StoreBackend and implements ``try_lock`` (one attempt:
the new Lock, or the LockInfo of whoever holds it; with ``reclaim``, a lock
already held by the very same holder is taken over instead) and ``close``.

Holders are written ``<user>@<machine> pid <n>`` (kob.identity). A lock whose holder names this
machine and a pid that no longer runs here was left by a killed process (SIGKILL, OOM): it is freed
at once instead of after its ttl. A holder on another machine, or whose pid runs (even if reused by
another program), is waited for as before.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import os
import re
import socket
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kob.errors import LockHeld, LockLost, StoreError
from kob.store.base import Lock, LockInfo

log = logging.getLogger(__name__)

LOCK_POLL_INTERVAL = 0.05


class StoreBackend(abc.ABC):
    """Lock waiting, lock keep-alive and the async context manager."""

    @abc.abstractmethod
    async def try_lock(self, name: str, holder: str, ttl: float, reclaim: bool = False) -> Lock | LockInfo:
        """Take a free (or expired) lock, else say who holds it; ``reclaim`` takes over one ``holder`` holds."""

    @abc.abstractmethod
    async def close(self) -> None:
        """Release connections and threads."""

    async def acquire_lock(self, name: str, holder: str, ttl: float, wait: float = 0, *,
                           reclaim: bool = False) -> Lock:
        """Take the lock, polling up to `wait` seconds; LockHeld if still taken.

        ``reclaim``: a lock held under exactly this ``holder`` is this process's own (its holder names
        its pid), left behind when an answer was lost; take it over instead of waiting for it to expire.
        """
        if ttl <= 0:
            raise ValueError(f"lock ttl must be positive, got {ttl}")
        deadline = time.monotonic() + wait
        while True:
            sent = time.monotonic()
            outcome = await self.try_lock(name, holder, ttl, reclaim)
            if not isinstance(outcome, LockInfo):
                _confirmed(outcome, sent, None)
                return outcome
            if died_here(outcome.holder) and await self._free_dead(name, outcome.holder):
                continue
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockHeld(name, outcome.holder, outcome.since)
            await asyncio.sleep(min(LOCK_POLL_INTERVAL, remaining))

    async def _free_dead(self, name: str, dead: str) -> bool:
        """Take over the lock ``dead`` left behind and release it; whether it was freed."""
        stale = await self.try_lock(name, dead, 1.0, reclaim=True)
        if isinstance(stale, LockInfo):
            return False  # someone else took it meanwhile
        await stale.release()
        log.warning("lock %r was held by %s, which no longer runs on this machine: freed", name, dead)
        return True

    @asynccontextmanager
    async def lock(self, name: str, holder: str, ttl: float, wait: float = 0) -> AsyncIterator[Lock]:
        """Hold the lock for the block, refreshing it every ttl/3 seconds.

        The block may call ``require_held(lock)`` between steps: it raises once the lock has gone
        unconfirmed too long to be sure it is still held (the store stopped answering).
        Raises StoreError on exit if the lock expired anyway (the process
        stalled longer than ttl), since the block then ran unprotected. A release the store does
        not answer is logged and leaves the lock to expire; the block's own outcome stands.
        """
        lock = await self.acquire_lock(name, holder, ttl, wait)
        keeper = asyncio.create_task(_refresh_until_cancelled(lock))
        failed = False
        try:
            yield lock
        except BaseException:
            failed = True
            raise
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            try:
                still_held = await lock.release()
            except StoreError as error:  # the store went away: the lock expires by itself
                if not failed:
                    log.warning("%s; lock %r expires by itself within %g s", error, name, lock.ttl)
                still_held = True
        if not still_held:
            raise StoreError(
                f"lock {name!r} of {holder} expired while held (stalled longer than its"
                f" {lock.ttl:g} s ttl); check what the block did, then run it again"
            )

    async def __aenter__(self) -> StoreBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


_HOLDER = re.compile(r"[^@\s]+@(?P<machine>\S+) pid (?P<pid>\d+)")


def died_here(holder: str) -> bool:
    """Whether ``holder`` names this machine and a pid (not ours) that no longer runs here."""
    match = _HOLDER.fullmatch(holder)
    if not match or match["machine"] != socket.gethostname():
        return False
    pid = int(match["pid"])
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # it runs, under another user
        return False
    return False


CONFIRMED_FOR = 0.75  # of a lock's ttl: how long after its last confirmation it surely still holds


async def _refresh_until_cancelled(lock: Lock) -> None:
    """Refresh at ttl/3, noting on the lock when each refresh was sent that the store confirmed; a failed
    refresh is retried on the next tick and logged (info) once per outage; a lost lock is not refreshed again."""
    logged = None
    while True:
        await asyncio.sleep(lock.ttl / 3)
        sent = time.monotonic()
        try:
            await lock.refresh()
        except StoreError as error:
            _confirmed(lock, getattr(lock, "confirmed_at", sent), error)
            if str(error) != logged:  # require_held and the release say what it means for the block
                log.info("%s", error)
                logged = str(error)
            if isinstance(error, LockLost):
                return
            continue
        _confirmed(lock, sent, None)
        logged = None


def _confirmed(lock: Lock, at: float, error: StoreError | None) -> None:
    """Note on the lock when the store last confirmed it (the request's send time) and the last refresh error."""
    lock.confirmed_at, lock.refresh_error = at, error  # type: ignore[attr-defined]  # kept for require_held


def require_held(lock: Lock) -> None:
    """StoreError when ``lock`` (held through StoreBackend.lock) went unconfirmed for most of its ttl: the store
    does not answer, so another process may take it once it expires. Call it between steps that must not
    overlap another holder's."""
    age = time.monotonic() - getattr(lock, "confirmed_at", time.monotonic())
    error = getattr(lock, "refresh_error", None)
    if isinstance(error, LockLost) or age >= CONFIRMED_FOR * lock.ttl:
        why = error or f"the store has not confirmed it for {age:.0f} s"
        raise StoreError(f"lock {lock.name!r} of {lock.holder} could not be kept ({why}); stopped before "
                         "the next step, with what runs whole: run the command again once the store answers")
