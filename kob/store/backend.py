"""What every backend shares: waiting for a lock, keeping it alive, closing.

A backend subclasses StoreBackend and implements ``try_lock`` (one attempt:
the new Lock, or the LockInfo of whoever holds it; with ``reclaim``, a lock
already held by the very same holder is taken over instead) and ``close``.
"""

from __future__ import annotations

import abc
import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from kob.errors import LockHeld, StoreError
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
            outcome = await self.try_lock(name, holder, ttl, reclaim)
            if not isinstance(outcome, LockInfo):
                return outcome
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise LockHeld(name, outcome.holder, outcome.since)
            await asyncio.sleep(min(LOCK_POLL_INTERVAL, remaining))

    @asynccontextmanager
    async def lock(self, name: str, holder: str, ttl: float, wait: float = 0) -> AsyncIterator[Lock]:
        """Hold the lock for the block, refreshing it every ttl/3 seconds.

        Raises StoreError on exit if the lock expired anyway (the process
        stalled longer than ttl), since the block then ran unprotected.
        """
        lock = await self.acquire_lock(name, holder, ttl, wait)
        keeper = asyncio.create_task(_refresh_until_cancelled(lock))
        try:
            yield lock
        finally:
            keeper.cancel()
            await asyncio.gather(keeper, return_exceptions=True)
            still_held = await lock.release()
        if not still_held:
            raise StoreError(
                f"lock {name!r} of {holder} expired while held (stalled longer than its"
                f" {lock.ttl:g} s ttl); check what the block did, then run it again"
            )

    async def __aenter__(self) -> StoreBackend:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()


async def _refresh_until_cancelled(lock: Lock) -> None:
    """Refresh at ttl/3; a failed refresh is retried on the next tick."""
    while True:
        await asyncio.sleep(lock.ttl / 3)
        try:
            await lock.refresh()
        except StoreError as error:
            log.warning("%s", error)
