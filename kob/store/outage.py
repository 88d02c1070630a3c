"""A store that says once when it stops answering and once when it answers again.

`kob web` and `kob serve` ask the store every few seconds from several places (the page's
refresh, the leader election, the passes). Each of them failing on its own would print the
same error every few seconds; wrapped in OutageNotices, the first failure is said once,
and the first answer after it once more:

    12:00:01 store: etcd at 198.18.0.1:2379 does not answer (...); the page keeps the last view, marked stale, ...
    12:03:12 store: etcd at 198.18.0.1:2379 answers again, after 191 s

Everything else is the wrapped store's: the callers still get every StoreError.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any, Self, TypeVar

from kob.errors import LockHeld, StoreError
from kob.store.base import Entry, Event, Lock, LockInfo, Store

T = TypeVar("T")


class OutageNotices:
    """``store`` with ``say`` told of each outage once, at its start and at its end."""

    def __init__(self, store: Store, say: Callable[[str], None], clock: Callable[[], float] = time.monotonic):
        self.store, self.say, self.clock = store, say, clock
        self.label: str = getattr(store, "label", "the store")
        self.down_since: float | None = None
        self.error: str | None = None  # the error that started the outage going on, if one is

    @property
    def down(self) -> bool:
        return self.down_since is not None

    async def _call(self, work: Awaitable[T]) -> T:
        try:
            result = await work
        except LockHeld:  # an answer: somebody else holds it
            self._answered()
            raise
        except StoreError as error:
            self._failed(error)
            raise
        self._answered()
        return result

    def _failed(self, error: StoreError) -> None:
        if self.down_since is None:
            self.down_since, self.error = self.clock(), str(error)
            self.say(f"store: {error}; the page keeps the last view, marked stale, and kob tries again "
                     "every few seconds")

    def _answered(self) -> None:
        if self.down_since is not None:
            self.say(f"store: {self.label} answers again, after {self.clock() - self.down_since:.0f} s")
            self.down_since = self.error = None

    async def get(self, key: str) -> Entry | None:
        return await self._call(self.store.get(key))

    async def put(self, key: str, value: bytes) -> int:
        return await self._call(self.store.put(key, value))

    async def delete(self, key: str) -> bool:
        return await self._call(self.store.delete(key))

    async def list(self, prefix: str) -> list[Entry]:
        return await self._call(self.store.list(prefix))

    async def compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool:
        return await self._call(self.store.compare_and_swap(key, value, expected_version))

    async def compare_and_swap_all(self, changes: list[tuple[str, bytes, int]]) -> bool:
        return await self._call(self.store.compare_and_swap_all(changes))

    async def acquire_lock(self, name: str, holder: str, ttl: float, wait: float = 0, *,
                           reclaim: bool = False) -> Lock:
        return await self._call(self.store.acquire_lock(name, holder, ttl, wait, reclaim=reclaim))

    def lock(self, name: str, holder: str, ttl: float, wait: float = 0) -> AbstractAsyncContextManager[Lock]:
        return self.store.lock(name, holder, ttl, wait)

    async def lock_info(self, name: str) -> LockInfo | None:
        return await self._call(self.store.lock_info(name))

    async def append_event(self, kind: str, message: str, fields: dict[str, Any] | None = None) -> Event:
        return await self._call(self.store.append_event(kind, message, fields))

    async def events(self, after_seq: int = 0, limit: int = 100) -> list[Event]:
        return await self._call(self.store.events(after_seq, limit))

    async def trim_events(self, keep: int) -> None:
        await self._call(self.store.trim_events(keep))

    async def write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], events: list[Event]) -> None:
        await self._call(self.store.write_batch(puts, deletes, events))

    async def close(self) -> None:
        await self.store.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.close()
