"""Leader election among several `kob serve` processes that share one store.

The leader is whoever holds the store lock; it keeps it by refreshing every
ttl/3. It counts itself leader only while its last confirmation by the store
(measured from when that request was sent) is younger than ttl minus a margin,
so a leader cut off from the store stops acting before its lock can expire
and another process takes it. A crashed leader's lock simply expires.

A store error is not a lost lock: the holder keeps its lock and refreshes it
again on the next step, leading on while its last confirmation is young enough,
and again as soon as a refresh gets through (when the lock never expired,
nobody else could have led meanwhile). Only LockLost (the lock expired, or its
key was deleted by hand, which the next refresh notices) drops it. Taking the
lock reclaims one held under this very holder (whose name carries its pid), so
a lock whose answer was lost on the way back is used, not waited out.
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable
from time import monotonic

from kob.errors import LockHeld, LockLost, StoreError
from kob.store.base import Lock, LockInfo, Store

log = logging.getLogger(__name__)

OnChange = Callable[[bool, str], Awaitable[None] | None]


class Leadership:
    """Which of several `kob serve` processes acts: the one holding the store lock `name`."""

    def __init__(self, store: Store, name: str, holder: str, ttl: float = 10.0,
                 on_change: OnChange | None = None):
        self.store, self.name, self.holder, self.ttl = store, name, holder, ttl
        self.margin = ttl / 4
        self.on_change = on_change
        self._lock: Lock | None = None
        self._confirmed_at = float("-inf")  # monotonic time the last good acquire/refresh was sent
        self._reported = False  # what on_change was last told
        self._warned: str | None = None  # the store error last logged, so an outage is logged once

    @property
    def leading(self) -> bool:
        """Held, and confirmed by the store less than ttl - margin ago."""
        return self._lock is not None and monotonic() - self._confirmed_at < self.ttl - self.margin

    async def step(self) -> bool:
        """One round: refresh the lock if held, else try to take it. Never raises StoreError.

        A held lock is refreshed even after `leading` lapsed: if the refresh
        succeeds, the lock never expired, so nobody else led meanwhile.
        """
        sent = monotonic()
        error = await (self._refresh(self._lock, sent) if self._lock else self._acquire(sent))
        leading = self.leading
        if leading != self._reported:
            await self._report(leading, self._reason(leading, error, sent))
        return leading

    async def run(self, stop: asyncio.Event) -> None:
        """Step every ttl/3 until `stop` is set (or the task is cancelled), then release."""
        try:
            while not stop.is_set():
                await self.step()
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), self.ttl / 3)
        finally:
            await self.release()

    async def release(self) -> None:
        """Hand the lock over at once; an unreachable store lets it expire instead."""
        lock, self._lock = self._lock, None
        try:
            if lock:
                await lock.release()
        except StoreError as error:
            log.warning("leader election on %s: release: %s", self.name, error)
        if self._reported:
            await self._report(False, "released")

    async def leader(self) -> LockInfo | None:
        """Who leads now, as the store sees it (StoreError if it cannot say)."""
        return await self.store.lock_info(self.name)

    async def _acquire(self, sent: float) -> StoreError | None:
        try:
            self._lock = await self.store.acquire_lock(self.name, self.holder, self.ttl, reclaim=True)
        except LockHeld:
            self._warned = None
            return None
        except StoreError as error:
            return self._warn(error)
        self._confirmed_at, self._warned = sent, None
        return None

    async def _refresh(self, lock: Lock, sent: float) -> StoreError | None:
        try:
            await lock.refresh()
        except LockLost as error:
            self._lock = None
            return self._warn(error)
        except StoreError as error:  # the store did not answer: the lock may be held still, try again next step
            return self._warn(error)
        self._confirmed_at, self._warned = sent, None
        return None

    def _warn(self, error: StoreError) -> StoreError:
        """Log a store error once, not on every step of an outage."""
        if str(error) != self._warned:  # on_change says when leadership is lost; this is the detail
            log.info("leader election on %s: %s", self.name, error)
            self._warned = str(error)
        return error

    def _reason(self, leading: bool, error: StoreError | None, sent: float) -> str:
        if leading:
            return f"became leader (lock {self.name}, ttl {self.ttl:g} s)"
        if error:
            return f"lost leadership: {error}"
        return f"lost leadership: the store took {monotonic() - sent:.1f} s to confirm lock {self.name}"

    async def _report(self, leading: bool, reason: str) -> None:
        self._reported = leading
        log.info("%s %s", self.holder, reason)
        if self.on_change:
            outcome = self.on_change(leading, reason)
            if inspect.isawaitable(outcome):
                await outcome
