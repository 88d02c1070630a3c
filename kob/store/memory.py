"""A store that lives in one process's memory, for unit tests.

It behaves like the other backends (versions never reused, fields go
through JSON) but shares nothing with other processes.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from typing import Any

from kob.errors import LockLost
from kob.store.backend import StoreBackend
from kob.store.base import Entry, Event, LockInfo, check_entry


class MemoryStore(StoreBackend):
    """Keys, locks and events in dicts and lists."""

    label = "memory store"

    def __init__(self) -> None:
        self._entries: dict[str, Entry] = {}
        self._revision = 0
        self._locks: dict[str, tuple[LockInfo, str]] = {}
        self._events: list[Event] = []
        self._last_seq = 0

    async def get(self, key: str) -> Entry | None:
        check_entry(key)
        return self._entries.get(key)

    async def put(self, key: str, value: bytes) -> int:
        check_entry(key, value)
        return self._set(key, value)

    def _set(self, key: str, value: bytes) -> int:
        self._revision += 1
        self._entries[key] = Entry(key, value, self._revision)
        return self._revision

    async def delete(self, key: str) -> bool:
        check_entry(key)
        return self._entries.pop(key, None) is not None

    async def list(self, prefix: str) -> list[Entry]:
        return [self._entries[k] for k in sorted(self._entries) if k.startswith(prefix)]

    async def compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool:
        current = await self.get(key)
        if (current.version if current else 0) != expected_version:
            return False
        await self.put(key, value)
        return True

    async def compare_and_swap_all(self, changes: list[tuple[str, bytes, int]]) -> bool:
        for key, value, expected_version in changes:
            check_entry(key, value)
            current = self._entries.get(key)
            if (current.version if current else 0) != expected_version:
                return False
        for key, value, _ in changes:
            self._set(key, value)
        return True

    async def try_lock(self, name: str, holder: str, ttl: float, reclaim: bool = False) -> MemoryLock | LockInfo:
        held = await self.lock_info(name)
        if held and reclaim and held.holder == holder:
            token = self._locks[name][1]
            self._locks[name] = (LockInfo(name, holder, held.since, time.time() + ttl), token)
            return MemoryLock(self, name, holder, held.since, ttl, token)
        if held:
            return held
        now, token = time.time(), uuid.uuid4().hex
        self._locks[name] = (LockInfo(name, holder, now, now + ttl), token)
        return MemoryLock(self, name, holder, now, ttl, token)

    async def lock_info(self, name: str) -> LockInfo | None:
        info, _ = self._locks.get(name, (None, ""))
        return info if info and info.expires_at > time.time() else None

    async def append_event(self, kind: str, message: str, fields: dict[str, Any] | None = None) -> Event:
        self._last_seq += 1
        event = Event(self._last_seq, time.time(), kind, message, json.loads(json.dumps(fields or {})))
        self._events.append(event)
        return event

    async def events(self, after_seq: int = 0, limit: int = 100) -> list[Event]:
        return [e for e in self._events if e.seq > after_seq][: max(limit, 0)]

    async def trim_events(self, keep: int) -> None:
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        self._events = self._events[-keep:] if keep else []

    async def write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], events: list[Event]) -> None:
        for key in deletes:
            check_entry(key)
        for key, value in puts:
            check_entry(key, value)
        for key in deletes:
            self._entries.pop(key, None)
        for key, value in puts:
            self._revision += 1
            self._entries[key] = Entry(key, value, self._revision)
        for event in events:
            self._last_seq += 1
            fields = json.loads(json.dumps(event.fields))
            self._events.append(Event(self._last_seq, event.time, event.kind, event.message, fields))

    async def close(self) -> None:
        """Nothing to release; the data stays for other users of this object."""


@dataclass
class MemoryLock:
    """A lock in a MemoryStore, identified by a token only its taker knows."""

    store: MemoryStore
    name: str
    holder: str
    since: float
    ttl: float
    token: str

    def _is_mine(self) -> bool:
        _, token = self.store._locks.get(self.name, (None, ""))
        return token == self.token

    async def refresh(self) -> None:
        if not self._is_mine() or not await self.store.lock_info(self.name):
            raise LockLost(f"lock {self.name!r} of {self.holder} expired before it was refreshed")
        expires_at = time.time() + self.ttl
        self.store._locks[self.name] = (LockInfo(self.name, self.holder, self.since, expires_at), self.token)

    async def release(self) -> bool:
        if not self._is_mine():
            return False
        still_held = await self.store.lock_info(self.name) is not None
        del self.store._locks[self.name]
        return still_held
