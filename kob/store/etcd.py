"""A store in etcd, shared by managers on several machines.

Everything lives under one namespace (default "/kob/"): keys under
"kv/", locks under "locks/", events under "events/<20-digit seq>" with the
last seq in "event-seq". A version is the key's mod_revision. A lock is a key
attached to a lease, so a crashed holder's lock vanishes with its lease;
etcd counts lease TTLs in whole seconds, so a lock's ttl is rounded up.

Every operation goes through kob.store.etcd_members, which moves to another
member when one does not answer. An attempt whose answer was lost may still
have been applied, so each write is safe to try again: put and delete are;
compare_and_swap, on a retry, counts a key already holding its value as
swapped; an event carries an id that a retry looks for before appending again;
a lock's lease has an id kob chooses, and its key a record a retry recognises.
"""

from __future__ import annotations

import json
import math
import secrets
import time
import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import aetcd
import aetcd.exceptions
import aetcd.rpc
import aetcd.transactions
import aetcd.utils

from kob.errors import LockLost
from kob.store.backend import StoreBackend
from kob.store.base import Entry, Event, LockInfo, check_entry
from kob.store.etcd_members import ATTEMPT_TIMEOUT, RETRY_FOR, Members

T = TypeVar("T")

LIST_PAGE = 256  # keys per range request of list(); read at one revision, so the pages make one snapshot
TXN_OPS = 100  # operations in one write_batch transaction: etcd refuses more than --max-txn-ops (128 by default)
TXN_BYTES = 1 << 20  # bytes of keys and values in one: etcd refuses requests over --max-request-bytes (1.5 MiB)


class EtcdStore(StoreBackend):
    """The store for several managers: one etcd cluster, one namespace."""

    def __init__(self, endpoints: list[tuple[str, int]], namespace: str = "/kob/",
                 timeout: float = ATTEMPT_TIMEOUT, retry_for: float = RETRY_FOR):
        self.members = Members(endpoints, attempt_timeout=timeout, retry_for=retry_for)
        self.endpoints = endpoints
        self.endpoints_text = self.members.text
        self.label = f"etcd at {self.endpoints_text}"
        self.namespace = namespace if namespace.endswith("/") else namespace + "/"
        self.timeout = timeout

    def _key(self, area: str, name: str) -> bytes:
        return f"{self.namespace}{area}/{name}".encode()

    def _entry(self, kv: Any) -> Entry:
        key = kv.key.decode()[len(self.namespace) + len("kv/"):]
        return Entry(key, kv.value, kv.mod_revision)

    async def get(self, key: str) -> Entry | None:
        check_entry(key)
        found = await self.members.call(lambda client, _: client.get(self._key("kv", key)))
        return self._entry(found) if found else None

    async def put(self, key: str, value: bytes) -> int:
        check_entry(key, value)
        reply = await self.members.call(lambda client, _: client.put(self._key("kv", key), value))
        return reply.header.revision

    async def delete(self, key: str) -> bool:
        """True if the key was there; after a lost answer, the retry may find it gone and say False."""
        check_entry(key)
        return await self.members.call(lambda client, _: client.delete(self._key("kv", key))) is not None

    async def list(self, prefix: str) -> list[Entry]:
        """In pages of LIST_PAGE keys, each read at the revision of the first (a retry reads them all again)."""
        first = self._key("kv", prefix)
        end = aetcd.utils.prefix_range_end(first)

        async def read(client: aetcd.Client, _: bool) -> list[Entry]:
            await client.connect()
            start, revision, found = first, 0, []
            while True:
                request = aetcd.rpc.RangeRequest(key=start, range_end=end, limit=LIST_PAGE, revision=revision)
                response = await client.kvstub.Range(request, timeout=self.timeout, metadata=client.metadata)
                found += [self._entry(kv) for kv in response.kvs]
                if not response.more or not response.kvs:
                    return found
                start, revision = response.kvs[-1].key + b"\0", response.header.revision

        return await self.members.call(read)

    async def compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool:
        check_entry(key, value)
        etcd_key = self._key("kv", key)

        async def swap(client: aetcd.Client, retried: bool) -> bool:
            swapped, replies = await client.transaction(
                compare=[client.transactions.mod(etcd_key) == expected_version],
                success=[client.transactions.put(etcd_key, value)],
                failure=[client.transactions.get(etcd_key)],
            )
            # an earlier attempt whose answer was lost may be what changed the version
            return swapped or (retried and _range_value(replies) == value)

        return await self.members.call(swap)

    async def compare_and_swap_all(self, changes: list[tuple[str, bytes, int]]) -> bool:
        """One transaction; on a retry, keys that all hold their new values count as swapped."""
        for key, value, _ in changes:
            check_entry(key, value)
        keyed = [(self._key("kv", key), value, version) for key, value, version in changes]

        async def swap(client: aetcd.Client, retried: bool) -> bool:
            swapped, replies = await client.transaction(
                compare=[client.transactions.mod(key) == version for key, _, version in keyed],
                success=[client.transactions.put(key, value) for key, value, _ in keyed],
                failure=[client.transactions.get(key) for key, _, _ in keyed],
            )
            return swapped or (retried and all(_range_value([reply]) == value
                                               for reply, (_, value, _) in zip(replies, keyed)))

        return await self.members.call(swap)

    async def try_lock(self, name: str, holder: str, ttl: float, reclaim: bool = False) -> EtcdLock | LockInfo:
        while True:
            held = await self.lock_info(name)
            if held and reclaim and held.holder == holder:
                return await self._reclaim(name, holder, ttl)
            if held:
                return held
            lock = await self._create_lock(name, holder, ttl)
            if lock:
                return lock

    async def _create_lock(self, name: str, holder: str, ttl: float) -> EtcdLock | None:
        """Put the lock key on a fresh lease unless the key exists."""
        key, lease_id, seconds = self._key("locks", name), _new_lease_id(), max(1, math.ceil(ttl))
        since = time.time()
        record = json.dumps({"holder": holder, "since": since, "token": uuid.uuid4().hex}).encode()
        await self.members.call(lambda client, _: _grant(client, seconds, lease_id))

        async def create(client: aetcd.Client, retried: bool) -> bool:
            created, replies = await client.transaction(
                compare=[client.transactions.create(key) == 0],
                success=[client.transactions.put(key, record, lease=lease_id)],
                failure=[client.transactions.get(key)],
            )
            return created or (retried and _range_value(replies) == record)

        if await self.members.call(create):
            return EtcdLock(self, name, holder, since, seconds, lease_id)
        await self.revoke_lease(lease_id)
        return None

    async def _reclaim(self, name: str, holder: str, ttl: float) -> EtcdLock | LockInfo:
        """This holder's own lock, found in the store: keep its lease alive from here on."""
        found = await self._lock_key(name)
        if found is None:
            return await self.try_lock(name, holder, ttl)
        record = json.loads(found.value)
        lock = EtcdLock(self, name, record["holder"], record["since"], max(1, math.ceil(ttl)), found.lease)
        await lock.refresh()
        return lock

    async def _lock_key(self, name: str) -> Any:
        return await self.members.call(lambda client, _: client.get(self._key("locks", name)))

    async def lock_info(self, name: str) -> LockInfo | None:
        found = await self._lock_key(name)
        if not found:
            return None
        record = json.loads(found.value)
        lease = await self.members.call(lambda client, _: client.get_lease_info(found.lease, keys=False))
        # etcd rounds the remaining TTL down to whole seconds: report the latest expiry
        remaining = min(lease.TTL + 1, lease.grantedTTL) if lease.TTL >= 0 else 0
        return LockInfo(name, record["holder"], record["since"], time.time() + remaining)

    async def append_event(self, kind: str, message: str, fields: dict[str, Any] | None = None) -> Event:
        counter_key = f"{self.namespace}event-seq".encode()
        fields_json, event_id = json.dumps(fields or {}), uuid.uuid4().hex

        async def append(client: aetcd.Client, retried: bool) -> Event:
            while True:
                counter = await client.get(counter_key)
                if retried and counter:  # the attempt whose answer was lost may have appended it
                    last = await client.get(self._event_key(int(counter.value)))
                    if last and json.loads(last.value).get("id") == event_id:
                        return _event(last)
                seq = int(counter.value) + 1 if counter else 1
                event = Event(seq, time.time(), kind, message, json.loads(fields_json))
                record = {"time": event.time, "kind": kind, "message": message, "fields": event.fields,
                          "id": event_id}
                appended, _ = await client.transaction(
                    compare=[client.transactions.mod(counter_key) == (counter.mod_revision if counter else 0)],
                    success=[
                        client.transactions.put(counter_key, str(seq).encode()),
                        client.transactions.put(self._event_key(seq), json.dumps(record).encode()),
                    ],
                    failure=[],
                )
                if appended:
                    return event

        return await self.members.call(append)

    def _event_key(self, seq: int) -> bytes:
        return self._key("events", f"{seq:020d}")

    async def events(self, after_seq: int = 0, limit: int = 100) -> list[Event]:
        if limit <= 0:
            return []
        request = aetcd.rpc.RangeRequest(
            key=self._event_key(after_seq + 1),
            range_end=aetcd.utils.prefix_range_end(self._key("events", "")),
            limit=limit,
        )

        async def read(client: aetcd.Client, _: bool) -> Any:
            await client.connect()
            return await client.kvstub.Range(request, timeout=self.timeout, metadata=client.metadata)

        return [_event(kv) for kv in (await self.members.call(read)).kvs]

    async def trim_events(self, keep: int) -> None:
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")

        async def trim(client: aetcd.Client, _: bool) -> None:
            counter = await client.get(f"{self.namespace}event-seq".encode())
            first_kept = (int(counter.value) if counter else 0) - keep + 1
            if first_kept > 1:
                await client.delete_range(self._event_key(0), self._event_key(first_kept))

        await self.members.call(trim)

    async def write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], events: list[Event]) -> None:
        """In transactions of at most TXN_OPS operations and TXN_BYTES bytes: deletes, puts, then events.

        One transaction when it all fits; otherwise a failure part-way leaves the earlier transactions done.
        Each transaction is safe to try again after a lost answer: deletes and puts are; each event
        carries an id, and a retry first looks whether its chunk's last event is already there.
        """
        for key in deletes:
            check_entry(key)
        for key, value in puts:
            check_entry(key, value)
        writes = [aetcd.transactions.Delete(self._key("kv", key)) for key in deletes]
        writes += [aetcd.transactions.Put(self._key("kv", key), value) for key, value in puts]
        records = [json.dumps({"time": e.time, "kind": e.kind, "message": e.message, "fields": e.fields,
                               "id": uuid.uuid4().hex}).encode() for e in events]
        for chunk in _chunks(writes, [len(key) + len(value) for key, value in puts], len(deletes)):
            await self.members.call(lambda client, _, chunk=chunk: client.transaction(compare=[], success=chunk,
                                                                                       failure=[]))
        for chunk in _chunks(records, [len(r) for r in records], 0):
            await self.members.call(lambda client, retried, chunk=chunk: self._append_records(client, chunk, retried))

    async def _append_records(self, client: aetcd.Client, records: list[bytes], retried: bool) -> None:
        """Append events as the next seqs, with the counter, in one transaction (retried if another appended)."""
        counter_key = f"{self.namespace}event-seq".encode()
        last_id = json.loads(records[-1])["id"]
        while True:
            counter = await client.get(counter_key)
            last = int(counter.value) if counter else 0
            if retried and counter:  # the attempt whose answer was lost may have appended them
                newest = await client.get(self._event_key(last))
                if newest and json.loads(newest.value).get("id") == last_id:
                    return
            appended, _ = await client.transaction(
                compare=[client.transactions.mod(counter_key) == (counter.mod_revision if counter else 0)],
                success=[client.transactions.put(counter_key, str(last + len(records)).encode()),
                         *(client.transactions.put(self._event_key(last + 1 + i), record)
                           for i, record in enumerate(records))],
                failure=[],
            )
            if appended:
                return

    async def keep_lease_alive(self, lease_id: int) -> bool:
        """One keep-alive; False if the lease has already expired."""
        reply = await self.members.call(lambda client, _: client.refresh_lease(lease_id))
        return reply is not None and reply.TTL > 0

    async def lock_key_lease(self, name: str) -> int | None:
        """The lease the lock key of ``name`` is on; None when there is no such key."""
        found = await self._lock_key(name)
        return found.lease if found else None

    async def revoke_lease(self, lease_id: int) -> bool:
        """Revoke the lease and its keys; False if it had already expired."""

        async def revoke(client: aetcd.Client, retried: bool) -> bool:
            try:
                await client.revoke_lease(lease_id)
            except aetcd.exceptions.ClientError as error:
                cause = error.__cause__
                if isinstance(cause, aetcd.rpc.AioRpcError) and cause.code() == aetcd.rpc.StatusCode.NOT_FOUND:
                    return retried  # after a lost answer, not found means that answer's revoke took
                raise
            return True

        return await self.members.call(revoke)

    async def close(self) -> None:
        await self.members.close()


async def _grant(client: aetcd.Client, seconds: int, lease_id: int) -> None:
    """A lease with kob's own id, so a retry after a lost answer finds it granted."""
    try:
        await client.lease(seconds, lease_id)
    except aetcd.exceptions.DuplicateLeaseError:
        pass


def _new_lease_id() -> int:
    return secrets.randbits(62) + 1


def _range_value(replies: list) -> bytes | None:
    """The value a transaction's one get found, or None."""
    return replies[0][0][0] if replies and replies[0] else None


def _chunks(items: list[T], sizes: list[int], unsized: int) -> list[list[T]]:
    """``items`` in runs that keep under TXN_OPS - 1 operations and TXN_BYTES bytes (the first ``unsized`` count 0)."""
    chunks: list[list[T]] = []
    current: list[T] = []
    used = 0
    for i, item in enumerate(items):
        size = sizes[i - unsized] if i >= unsized else 0
        if current and (len(current) >= TXN_OPS - 1 or used + size > TXN_BYTES):
            chunks.append(current)
            current, used = [], 0
        current.append(item)
        used += size
    return chunks + [current] if current else chunks


def _event(kv: Any) -> Event:
    record = json.loads(kv.value)
    seq = int(kv.key.rsplit(b"/", 1)[1])
    return Event(seq, record["time"], record["kind"], record["message"], record["fields"])


@dataclass
class EtcdLock:
    """A lock key on its own lease; refresh keeps the lease alive and checks the key is still this lock's."""

    store: EtcdStore
    name: str
    holder: str
    since: float
    ttl: float
    lease_id: int

    async def refresh(self) -> None:
        """LockLost when the lease expired or the key is gone or on another lease (deleted by hand)."""
        if not await self.store.keep_lease_alive(self.lease_id):
            raise LockLost(f"lock {self.name!r} of {self.holder} expired before it was refreshed")
        if await self.store.lock_key_lease(self.name) != self.lease_id:
            await self.store.revoke_lease(self.lease_id)
            raise LockLost(f"lock {self.name!r} of {self.holder} was deleted from the store (by hand?)")

    async def release(self) -> bool:
        return await self.store.revoke_lease(self.lease_id)
