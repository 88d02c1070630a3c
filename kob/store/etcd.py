"""A store in etcd, shared by managers on several machines.

Everything lives under one namespace (default "/kob/"): keys under
"kv/", locks under "locks/", events under "events/<20-digit seq>" with the
last seq in "event-seq". A version is the key's mod_revision. A lock is a key
attached to a lease, so a crashed holder's lock vanishes with its lease;
etcd counts lease TTLs in whole seconds, so a lock's ttl is rounded up.
"""

from __future__ import annotations

import asyncio
import functools
import json
import math
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, ParamSpec, TypeVar

import aetcd
import aetcd.exceptions
import aetcd.rpc
import aetcd.utils

from kob.errors import StoreError
from kob.store.backend import StoreBackend
from kob.store.base import Entry, Event, LockInfo, check_entry

P = ParamSpec("P")
T = TypeVar("T")

CLIENT_ERRORS = (aetcd.exceptions.ClientError, aetcd.rpc.AioRpcError)
LIST_PAGE = 256  # keys per range request of list(); read at one revision, so the pages make one snapshot
MAX_REPLY = 64 << 20  # bytes of one gRPC reply (gRPC's default, 4 MiB, is 64 job outputs)
TXN_OPS = 100  # operations in one write_batch transaction: etcd refuses more than --max-txn-ops (128 by default)
TXN_BYTES = 1 << 20  # bytes of keys and values in one: etcd refuses requests over --max-request-bytes (1.5 MiB)


def reporting_etcd_errors(method: Callable[P, Awaitable[T]]) -> Callable[P, Awaitable[T]]:
    """Turn the client's errors into StoreError naming the endpoints."""

    @functools.wraps(method)
    async def wrapper(*args: P.args, **kwargs: P.kwargs) -> T:
        try:
            return await method(*args, **kwargs)
        except CLIENT_ERRORS as error:
            store = args[0]
            raise StoreError(f"etcd at {store.endpoints_text}: {_describe(error)}") from error

    return wrapper


def _describe(error: Exception) -> str:
    if isinstance(error, aetcd.rpc.AioRpcError):
        return f"{error.code().name}: {error.details()}"
    if isinstance(error, (aetcd.exceptions.ConnectionFailedError, aetcd.exceptions.ConnectionTimeoutError)):
        return f"cannot reach it ({error}); is etcd running and the address right?"
    return str(error) or type(error).__name__


class EtcdStore(StoreBackend):
    """The store for several managers: one etcd cluster, one namespace."""

    def __init__(self, endpoints: list[tuple[str, int]], namespace: str = "/kob/", timeout: float = 5.0):
        if not endpoints:
            raise ValueError("at least one etcd endpoint is needed")
        self.endpoints = endpoints
        self.endpoints_text = ",".join(f"{host}:{port}" for host, port in endpoints)
        self.namespace = namespace if namespace.endswith("/") else namespace + "/"
        self.timeout = timeout
        self._client: aetcd.Client | None = None
        self._connecting = asyncio.Lock()

    async def client(self) -> aetcd.Client:
        """The connected client; the first endpoint that answers wins."""
        async with self._connecting:
            if self._client is None:
                self._client = await self._connect_first_reachable()
            return self._client

    async def _connect_first_reachable(self) -> aetcd.Client:
        failures = []
        for host, port in self.endpoints:
            candidate = aetcd.Client(host, port, timeout=self.timeout,
                                     options={"grpc.max_receive_message_length": MAX_REPLY})
            try:
                await candidate.status()
                return candidate
            except CLIENT_ERRORS as error:
                failures.append(f"{host}:{port}: {_describe(error)}")
                await candidate.close()
        raise StoreError(f"no etcd endpoint answered: {'; '.join(failures)}")

    def _key(self, area: str, name: str) -> bytes:
        return f"{self.namespace}{area}/{name}".encode()

    def _entry(self, kv: Any) -> Entry:
        key = kv.key.decode()[len(self.namespace) + len("kv/"):]
        return Entry(key, kv.value, kv.mod_revision)

    @reporting_etcd_errors
    async def get(self, key: str) -> Entry | None:
        check_entry(key)
        found = await (await self.client()).get(self._key("kv", key))
        return self._entry(found) if found else None

    @reporting_etcd_errors
    async def put(self, key: str, value: bytes) -> int:
        check_entry(key, value)
        return (await (await self.client()).put(self._key("kv", key), value)).header.revision

    @reporting_etcd_errors
    async def delete(self, key: str) -> bool:
        check_entry(key)
        return await (await self.client()).delete(self._key("kv", key)) is not None

    @reporting_etcd_errors
    async def list(self, prefix: str) -> list[Entry]:
        """In pages of LIST_PAGE keys, each read at the revision of the first."""
        client, start = await self.client(), self._key("kv", prefix)
        end, revision, found = aetcd.utils.prefix_range_end(start), 0, []
        while True:
            request = aetcd.rpc.RangeRequest(key=start, range_end=end, limit=LIST_PAGE, revision=revision)
            response = await client.kvstub.Range(request, timeout=self.timeout, metadata=client.metadata)
            found += [self._entry(kv) for kv in response.kvs]
            if not response.more or not response.kvs:
                return found
            start, revision = response.kvs[-1].key + b"\0", response.header.revision

    @reporting_etcd_errors
    async def compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool:
        check_entry(key, value)
        client, etcd_key = await self.client(), self._key("kv", key)
        swapped, _ = await client.transaction(
            compare=[client.transactions.mod(etcd_key) == expected_version],
            success=[client.transactions.put(etcd_key, value)],
            failure=[],
        )
        return swapped

    async def try_lock(self, name: str, holder: str, ttl: float) -> EtcdLock | LockInfo:
        while True:
            held = await self.lock_info(name)
            if held:
                return held
            lock = await self._create_lock(name, holder, ttl)
            if lock:
                return lock

    @reporting_etcd_errors
    async def _create_lock(self, name: str, holder: str, ttl: float) -> EtcdLock | None:
        """Put the lock key on a fresh lease unless the key exists."""
        client, key = await self.client(), self._key("locks", name)
        lease = await client.lease(max(1, math.ceil(ttl)))
        since = time.time()
        record = json.dumps({"holder": holder, "since": since}).encode()
        created, _ = await client.transaction(
            compare=[client.transactions.create(key) == 0],
            success=[client.transactions.put(key, record, lease=lease.id)],
            failure=[],
        )
        if created:
            return EtcdLock(self, name, holder, since, lease.ttl, lease.id)
        await client.revoke_lease(lease.id)
        return None

    @reporting_etcd_errors
    async def lock_info(self, name: str) -> LockInfo | None:
        client = await self.client()
        found = await client.get(self._key("locks", name))
        if not found:
            return None
        record = json.loads(found.value)
        lease = await client.get_lease_info(found.lease, keys=False)
        # etcd rounds the remaining TTL down to whole seconds: report the latest expiry
        remaining = min(lease.TTL + 1, lease.grantedTTL) if lease.TTL >= 0 else 0
        return LockInfo(name, record["holder"], record["since"], time.time() + remaining)

    @reporting_etcd_errors
    async def append_event(self, kind: str, message: str, fields: dict[str, Any] | None = None) -> Event:
        client, counter_key = await self.client(), f"{self.namespace}event-seq".encode()
        fields_json = json.dumps(fields or {})
        while True:
            counter = await client.get(counter_key)
            seq = int(counter.value) + 1 if counter else 1
            event = Event(seq, time.time(), kind, message, json.loads(fields_json))
            record = {"time": event.time, "kind": kind, "message": message, "fields": event.fields}
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

    def _event_key(self, seq: int) -> bytes:
        return self._key("events", f"{seq:020d}")

    @reporting_etcd_errors
    async def events(self, after_seq: int = 0, limit: int = 100) -> list[Event]:
        if limit <= 0:
            return []
        client = await self.client()
        request = aetcd.rpc.RangeRequest(
            key=self._event_key(after_seq + 1),
            range_end=aetcd.utils.prefix_range_end(self._key("events", "")),
            limit=limit,
        )
        response = await client.kvstub.Range(request, timeout=self.timeout, metadata=client.metadata)
        return [_event(kv) for kv in response.kvs]

    @reporting_etcd_errors
    async def trim_events(self, keep: int) -> None:
        if keep < 0:
            raise ValueError(f"keep must be >= 0, got {keep}")
        client = await self.client()
        counter = await client.get(f"{self.namespace}event-seq".encode())
        first_kept = (int(counter.value) if counter else 0) - keep + 1
        if first_kept > 1:
            await client.delete_range(self._event_key(0), self._event_key(first_kept))

    @reporting_etcd_errors
    async def write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], events: list[Event]) -> None:
        """In transactions of at most TXN_OPS operations and TXN_BYTES bytes: deletes, puts, then events.

        One transaction when it all fits; otherwise a failure part-way leaves the earlier transactions done.
        """
        for key in deletes:
            check_entry(key)
        for key, value in puts:
            check_entry(key, value)
        client = await self.client()
        writes = [client.transactions.delete(self._key("kv", key)) for key in deletes]
        writes += [client.transactions.put(self._key("kv", key), value) for key, value in puts]
        records = [json.dumps({"time": e.time, "kind": e.kind, "message": e.message, "fields": e.fields}).encode()
                   for e in events]
        for chunk in _chunks(writes, [len(key) + len(value) for key, value in puts], len(deletes)):
            await client.transaction(compare=[], success=chunk, failure=[])
        for chunk in _chunks(records, [len(r) for r in records], 0):
            await self._append_records(client, chunk)

    async def _append_records(self, client: aetcd.Client, records: list[bytes]) -> None:
        """Append events as the next seqs, with the counter, in one transaction (retried if another appended)."""
        counter_key = f"{self.namespace}event-seq".encode()
        while True:
            counter = await client.get(counter_key)
            last = int(counter.value) if counter else 0
            appended, _ = await client.transaction(
                compare=[client.transactions.mod(counter_key) == (counter.mod_revision if counter else 0)],
                success=[client.transactions.put(counter_key, str(last + len(records)).encode()),
                         *(client.transactions.put(self._event_key(last + 1 + i), record)
                           for i, record in enumerate(records))],
                failure=[],
            )
            if appended:
                return

    @reporting_etcd_errors
    async def keep_lease_alive(self, lease_id: int) -> bool:
        """One keep-alive; False if the lease has already expired."""
        reply = await (await self.client()).refresh_lease(lease_id)
        return reply is not None and reply.TTL > 0

    @reporting_etcd_errors
    async def revoke_lease(self, lease_id: int) -> bool:
        """Revoke the lease and its keys; False if it had already expired."""
        try:
            await (await self.client()).revoke_lease(lease_id)
        except aetcd.exceptions.ClientError as error:
            cause = error.__cause__
            if isinstance(cause, aetcd.rpc.AioRpcError) and cause.code() == aetcd.rpc.StatusCode.NOT_FOUND:
                return False
            raise
        return True

    async def close(self) -> None:
        async with self._connecting:
            if self._client is not None:
                await self._client.close()
                self._client = None


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
    """A lock key on its own lease; refresh is one lease keep-alive."""

    store: EtcdStore
    name: str
    holder: str
    since: float
    ttl: float
    lease_id: int

    async def refresh(self) -> None:
        if not await self.store.keep_lease_alive(self.lease_id):
            raise StoreError(f"lock {self.name!r} of {self.holder} expired before it was refreshed")

    async def release(self) -> bool:
        return await self.store.revoke_lease(self.lease_id)
