"""A store in one SQLite file, safe for several processes on one machine.

Every write runs in BEGIN IMMEDIATE (one writer at a time, others wait up to
the busy timeout); WAL lets readers go on meanwhile. All SQLite calls run on
one worker thread that owns the connection, so the event loop never blocks.
Versions come from one store-wide revision counter, so they are never reused.
"""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from kob.errors import LockLost, StoreError
from kob.store.backend import StoreBackend
from kob.store.base import Entry, Event, LockInfo, check_entry

T = TypeVar("T")

SCHEMA = [
    "CREATE TABLE IF NOT EXISTS entries"
    " (key TEXT PRIMARY KEY, value BLOB NOT NULL, version INTEGER NOT NULL) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS revision (id INTEGER PRIMARY KEY CHECK (id = 1), value INTEGER NOT NULL)",
    "INSERT OR IGNORE INTO revision VALUES (1, 0)",
    "CREATE TABLE IF NOT EXISTS locks (name TEXT PRIMARY KEY, holder TEXT NOT NULL,"
    " token TEXT NOT NULL, since REAL NOT NULL, expires_at REAL NOT NULL)",
    "CREATE TABLE IF NOT EXISTS events (seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " time REAL NOT NULL, kind TEXT NOT NULL, message TEXT NOT NULL, fields TEXT NOT NULL)",
]


class SqliteStore(StoreBackend):
    """The default store: a file next to the inventory."""

    def __init__(self, path: str, busy_timeout: float = 10.0) -> None:
        self.path = path
        self.label = f"sqlite store {path}"
        self.busy_timeout = busy_timeout
        self._worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kob-sqlite")
        self._connection: sqlite3.Connection | None = None

    async def _run(self, function: Callable[..., T], *args: Any) -> T:
        """Run function(*args) on the worker thread; SQLite errors become StoreError."""
        try:
            return await asyncio.get_running_loop().run_in_executor(self._worker, function, *args)
        except sqlite3.Error as error:
            raise StoreError(f"sqlite store {self.path}: {error}") from error

    def _db(self) -> sqlite3.Connection:
        if self._connection is None:
            connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            connection.execute(f"PRAGMA busy_timeout = {int(self.busy_timeout * 1000)}")
            _enable_wal(connection, self.busy_timeout)
            connection.execute("PRAGMA synchronous = NORMAL")
            try:
                with _transaction(connection):
                    for statement in SCHEMA:
                        connection.execute(statement)
            except BaseException:
                connection.close()
                raise
            self._connection = connection
        return self._connection

    def _transaction(self) -> AbstractContextManager[sqlite3.Connection]:
        return _transaction(self._db())

    @staticmethod
    def _next_revision(db: sqlite3.Connection) -> int:
        return db.execute("UPDATE revision SET value = value + 1 RETURNING value").fetchall()[0][0]

    async def get(self, key: str) -> Entry | None:
        check_entry(key)
        return await self._run(self._get, key)

    def _get(self, key: str) -> Entry | None:
        row = self._db().execute("SELECT key, value, version FROM entries WHERE key = ?", (key,)).fetchone()
        return Entry(*row) if row else None

    async def put(self, key: str, value: bytes) -> int:
        check_entry(key, value)
        return await self._run(self._put, key, value)

    def _put(self, key: str, value: bytes) -> int:
        with self._transaction() as db:
            return self._write(db, key, value)

    def _write(self, db: sqlite3.Connection, key: str, value: bytes) -> int:
        version = self._next_revision(db)
        db.execute(
            "INSERT INTO entries (key, value, version) VALUES (?, ?, ?) ON CONFLICT (key)"
            " DO UPDATE SET value = excluded.value, version = excluded.version",
            (key, value, version),
        )
        return version

    async def delete(self, key: str) -> bool:
        check_entry(key)
        return await self._run(self._delete, key)

    def _delete(self, key: str) -> bool:
        with self._transaction() as db:
            return db.execute("DELETE FROM entries WHERE key = ?", (key,)).rowcount > 0

    async def list(self, prefix: str) -> list[Entry]:
        return await self._run(self._list, prefix)

    def _list(self, prefix: str) -> list[Entry]:
        if not prefix:
            return [Entry(*row) for row in self._db().execute("SELECT key, value, version FROM entries ORDER BY key")]
        # A range of the primary key, not a scan of every row: the keys that start with the prefix are those
        # from it up to (not including) the prefix with its last character the next one (UTF-8 sorts as code points).
        end = prefix[:-1] + chr(ord(prefix[-1]) + 1)
        rows = self._db().execute(
            "SELECT key, value, version FROM entries WHERE key >= ? AND key < ? ORDER BY key", (prefix, end),
        )
        return [Entry(*row) for row in rows]

    async def compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool:
        check_entry(key, value)
        return await self._run(self._compare_and_swap, key, value, expected_version)

    def _compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool:
        with self._transaction() as db:
            row = db.execute("SELECT version FROM entries WHERE key = ?", (key,)).fetchone()
            if (row[0] if row else 0) != expected_version:
                return False
            self._write(db, key, value)
            return True

    async def compare_and_swap_all(self, changes: list[tuple[str, bytes, int]]) -> bool:
        for key, value, _ in changes:
            check_entry(key, value)
        return await self._run(self._compare_and_swap_all, changes)

    def _compare_and_swap_all(self, changes: list[tuple[str, bytes, int]]) -> bool:
        with self._transaction() as db:
            for key, _, expected_version in changes:
                row = db.execute("SELECT version FROM entries WHERE key = ?", (key,)).fetchone()
                if (row[0] if row else 0) != expected_version:
                    return False
            for key, value, _ in changes:
                self._write(db, key, value)
            return True

    async def try_lock(self, name: str, holder: str, ttl: float, reclaim: bool = False) -> SqliteLock | LockInfo:
        return await self._run(self._try_lock, name, holder, ttl, reclaim)

    def _try_lock(self, name: str, holder: str, ttl: float, reclaim: bool) -> SqliteLock | LockInfo:
        with self._transaction() as db:
            held = self._lock_info(name)
            if held and reclaim and held.holder == holder:
                (token,) = db.execute("SELECT token FROM locks WHERE name = ?", (name,)).fetchone()
                db.execute("UPDATE locks SET expires_at = ? WHERE name = ?", (time.time() + ttl, name))
                return SqliteLock(self, name, holder, held.since, ttl, token)
            if held:
                return held
            now, token = time.time(), uuid.uuid4().hex
            db.execute(
                "INSERT OR REPLACE INTO locks (name, holder, token, since, expires_at) VALUES (?, ?, ?, ?, ?)",
                (name, holder, token, now, now + ttl),
            )
            return SqliteLock(self, name, holder, now, ttl, token)

    async def lock_info(self, name: str) -> LockInfo | None:
        return await self._run(self._lock_info, name)

    def _lock_info(self, name: str) -> LockInfo | None:
        row = self._db().execute(
            "SELECT name, holder, since, expires_at FROM locks WHERE name = ? AND expires_at > ?",
            (name, time.time()),
        ).fetchone()
        return LockInfo(*row) if row else None

    async def append_event(self, kind: str, message: str, fields: dict[str, Any] | None = None) -> Event:
        return await self._run(self._append_event, kind, message, json.dumps(fields or {}))

    def _append_event(self, kind: str, message: str, fields_json: str) -> Event:
        now = time.time()
        with self._transaction() as db:
            [(seq,)] = db.execute(
                "INSERT INTO events (time, kind, message, fields) VALUES (?, ?, ?, ?) RETURNING seq",
                (now, kind, message, fields_json),
            ).fetchall()
        return Event(seq, now, kind, message, json.loads(fields_json))

    async def events(self, after_seq: int = 0, limit: int = 100) -> list[Event]:
        return await self._run(self._events, after_seq, limit)

    def _events(self, after_seq: int, limit: int) -> list[Event]:
        rows = self._db().execute(
            "SELECT seq, time, kind, message, fields FROM events WHERE seq > ? ORDER BY seq LIMIT ?",
            (after_seq, max(limit, 0)),
        )
        return [Event(seq, at, kind, message, json.loads(fields)) for seq, at, kind, message, fields in rows]

    async def trim_events(self, keep: int) -> None:
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        await self._run(self._trim_events, keep)

    def _trim_events(self, keep: int) -> None:
        with self._transaction() as db:
            db.execute("DELETE FROM events WHERE seq <= (SELECT max(seq) FROM events) - ?", (keep,))

    async def write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], events: list[Event]) -> None:
        for key in deletes:
            check_entry(key)
        for key, value in puts:
            check_entry(key, value)
        rows = [(e.time, e.kind, e.message, json.dumps(e.fields)) for e in events]
        await self._run(self._write_batch, puts, deletes, rows)

    def _write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], rows: list[tuple]) -> None:
        with self._transaction() as db:
            db.executemany("DELETE FROM entries WHERE key = ?", [(key,) for key in deletes])
            for key, value in puts:
                self._write(db, key, value)
            db.executemany("INSERT INTO events (time, kind, message, fields) VALUES (?, ?, ?, ?)", rows)

    async def close(self) -> None:
        if self._connection is not None:
            await self._run(self._connection.close)
            self._connection = None
        self._worker.shutdown(wait=False)


def _enable_wal(db: sqlite3.Connection, timeout: float) -> None:
    """Switch to WAL; retried, since this pragma may not wait for a busy database."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            db.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as error:
            if error.sqlite_errorcode != sqlite3.SQLITE_BUSY or time.monotonic() > deadline:
                raise
            time.sleep(0.01)


@contextmanager
def _transaction(db: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any error."""
    db.execute("BEGIN IMMEDIATE")
    try:
        yield db
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise


@dataclass
class SqliteLock:
    """A row in the locks table, identified by a token only its taker knows."""

    store: SqliteStore
    name: str
    holder: str
    since: float
    ttl: float
    token: str

    async def refresh(self) -> None:
        if not await self.store._run(self._refresh):
            raise LockLost(f"lock {self.name!r} of {self.holder} expired or was deleted before it was refreshed")

    def _refresh(self) -> bool:
        now = time.time()
        with self.store._transaction() as db:
            return db.execute(
                "UPDATE locks SET expires_at = ? WHERE name = ? AND token = ? AND expires_at > ?",
                (now + self.ttl, self.name, self.token, now),
            ).rowcount > 0

    async def release(self) -> bool:
        return await self.store._run(self._release)

    def _release(self) -> bool:
        with self.store._transaction() as db:
            rows = db.execute(
                "DELETE FROM locks WHERE name = ? AND token = ? RETURNING expires_at", (self.name, self.token)
            ).fetchall()
        return bool(rows) and rows[0][0] > time.time()
