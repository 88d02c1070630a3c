"""The connection holder's side of the lent store (its Desk): one open store, asked by the holder's clients.

A request ``{"op": "store", "method": M, "args": {...}}`` (kob.lend.wire.METHODS) is answered with
``{"value": V}``, or ``{"store_error": E}`` when the store refused or did not answer. The store is opened on
the first request, so a holder whose store is down still lends its SSH connections.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from typing import Any

from kob.errors import HolderError, LockLost, StoreError
from kob.lend.wire import (
    METHODS,
    entry_to_wire,
    event_from_wire,
    event_to_wire,
    lock_info_to_wire,
    store_error_to_wire,
    unblob,
)
from kob.store.base import Lock, LockInfo, Store


class StoreDesk:
    """Serves one store (``opener``'s, on first use) to the holder's clients; closes it at the end if ``closes``
    (`kob serve` lends the store it uses itself, and closes it itself)."""

    def __init__(self, opener: Callable[[], Store], *, closes: bool = True):
        self._opener, self._closes = opener, closes
        self._store: Store | None = None
        self._locks: dict[str, tuple[Lock, float]] = {}  # id → (lock, when last taken or refreshed)

    @classmethod
    def for_state(cls, state_url: str) -> StoreDesk:
        """A desk lending the store at ``state_url`` (kob.store.open_store), opened on the first call."""
        from kob.store import open_store

        return cls(lambda: open_store(state_url))

    async def answer(self, method: Any, args: Any) -> dict[str, Any]:
        """``{"value": V}`` of ``method(**args)``, or ``{"store_error": E}`` when the store refused or did not
        answer; HolderError (or KeyError, TypeError, ValueError) for a request no client of kob sends."""
        if method not in METHODS or not isinstance(args, dict) or set(args) != set(METHODS[method]):
            raise HolderError(f"a store request the holder does not know: {str(method)[:40]!r}")
        store = self.store()
        try:
            return {"value": await getattr(self, f"_{method}")(store, **args)}
        except StoreError as error:
            return {"store_error": store_error_to_wire(error)}

    def store(self) -> Store:
        """The lent store, opened on first use (the holder's deploys use it too)."""
        if self._store is None:
            self._store = self._opener()
        return self._store

    async def close(self) -> None:
        if self._store is not None and self._closes:
            await self._store.close()

    async def _get(self, store: Store, key: str) -> Any:
        return entry_to_wire(await store.get(key))

    async def _put(self, store: Store, key: str, value: str) -> int:
        return await store.put(key, unblob(value))

    async def _delete(self, store: Store, key: str) -> bool:
        return await store.delete(key)

    async def _list(self, store: Store, prefix: str) -> list:
        return [entry_to_wire(entry) for entry in await store.list(prefix)]

    async def _compare_and_swap(self, store: Store, key: str, value: str, expected_version: int) -> bool:
        return await store.compare_and_swap(key, unblob(value), int(expected_version))

    async def _compare_and_swap_all(self, store: Store, changes: list) -> bool:
        return await store.compare_and_swap_all([(str(k), unblob(v), int(n)) for k, v, n in changes])

    async def _try_lock(self, store: Store, name: str, holder: str, ttl: float, reclaim: bool) -> Any:
        outcome = await store.try_lock(name, holder, float(ttl), bool(reclaim))  # type: ignore[attr-defined]
        if isinstance(outcome, LockInfo):
            return {"held": lock_info_to_wire(outcome)}
        self._forget_stale()
        lock_id = secrets.token_hex(12)
        self._locks[lock_id] = (outcome, time.monotonic())
        return {"lock": lock_id, "since": outcome.since}

    async def _lock_info(self, store: Store, name: str) -> Any:
        return lock_info_to_wire(await store.lock_info(name))

    async def _append_event(self, store: Store, kind: str, message: str, fields: dict | None) -> Any:
        return event_to_wire(await store.append_event(kind, message, fields))

    async def _events(self, store: Store, after_seq: int, limit: int) -> list:
        return [event_to_wire(event) for event in await store.events(int(after_seq), int(limit))]

    async def _trim_events(self, store: Store, keep: int) -> None:
        await store.trim_events(int(keep))

    async def _write_batch(self, store: Store, puts: list, deletes: list, events: list) -> None:
        await store.write_batch([(str(k), unblob(v)) for k, v in puts], [str(k) for k in deletes],
                                [event_from_wire(event) for event in events])

    async def _lock_refresh(self, store: Store, lock: str) -> None:
        held, _ = self._held(lock)
        await held.refresh()
        self._locks[lock] = (held, time.monotonic())

    async def _lock_release(self, store: Store, lock: str) -> bool:
        held, _ = self._held(lock)
        del self._locks[lock]
        return await held.release()

    def _held(self, lock_id: str) -> tuple[Lock, float]:
        if lock_id not in self._locks:
            raise LockLost(f"lock {lock_id[:8]}… is no longer held by the connection holder (it expired, or the "
                           "holder restarted)")
        return self._locks[lock_id]

    def _forget_stale(self) -> None:
        """Drop locks not refreshed for two ttls: their client is gone and the store let them expire."""
        now = time.monotonic()
        for lock_id, (lock, touched) in list(self._locks.items()):
            if now - touched > 2 * lock.ttl:
                del self._locks[lock_id]
