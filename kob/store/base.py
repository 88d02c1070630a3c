"""The store interface every backend implements, and the records it returns.

Keys are "/"-separated paths, values are bytes. A key's version changes on
every write and is never reused, not even after a delete, so a
compare-and-swap against an old version always fails; version 0 means
"absent".
"""

from __future__ import annotations

from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Any, Protocol


@dataclass(frozen=True)
class Entry:
    """One key, its value and the version of its last write (> 0)."""

    key: str
    value: bytes
    version: int


@dataclass(frozen=True)
class Event:
    """One record of the append-only event log; seq grows strictly."""

    seq: int
    time: float
    kind: str
    message: str
    fields: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class LockInfo:
    """Who holds a lock, since when and until when (unix times)."""

    name: str
    holder: str
    since: float
    expires_at: float


class Lock(Protocol):
    """A lock this process holds until it expires or is released."""

    name: str
    holder: str
    since: float
    ttl: float

    async def refresh(self) -> None:
        """Push the expiry ttl seconds ahead; LockLost if the lock is gone (expired, or deleted),
        another StoreError if the store did not answer (the lock may well be held still)."""

    async def release(self) -> bool:
        """Free the lock; False if it had already expired (idempotent)."""


class Store(Protocol):
    """The state store: keys, locks and the event log."""

    async def get(self, key: str) -> Entry | None: ...

    async def put(self, key: str, value: bytes) -> int: ...

    async def delete(self, key: str) -> bool: ...

    async def list(self, prefix: str) -> list[Entry]: ...

    async def compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool: ...

    async def compare_and_swap_all(self, changes: list[tuple[str, bytes, int]]) -> bool:
        """(key, value, expected version) each: all written at once if every key is at its version, else none."""
        ...

    async def acquire_lock(self, name: str, holder: str, ttl: float, wait: float = 0, *,
                           reclaim: bool = False) -> Lock: ...

    def lock(
        self, name: str, holder: str, ttl: float, wait: float = 0
    ) -> AbstractAsyncContextManager[Lock]: ...

    async def lock_info(self, name: str) -> LockInfo | None: ...

    async def append_event(
        self, kind: str, message: str, fields: dict[str, Any] | None = None
    ) -> Event: ...

    async def events(self, after_seq: int = 0, limit: int = 100) -> list[Event]: ...

    async def trim_events(self, keep: int) -> None: ...

    async def write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], events: list[Event]) -> None:
        """Delete keys, put keys, then append events (their time kept, their seq the log's next ones).

        Memory and SQLite do it all in one transaction; etcd in transactions of a bounded size,
        in that order, so a failure there may leave the first ones done (see EtcdStore.write_batch).
        """
        ...

    async def close(self) -> None: ...

    async def __aenter__(self) -> Store: ...

    async def __aexit__(self, *exc_info: object) -> None: ...


def check_entry(key: str, value: bytes = b"") -> None:
    """Refuse keys and values no backend can hold the same way."""
    if not isinstance(key, str) or not key:
        raise ValueError(f"store keys are non-empty str, got {key!r}")
    if not isinstance(value, bytes):
        raise TypeError(f"store values are bytes, got {type(value).__name__}")
