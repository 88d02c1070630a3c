"""The store a live connection holder lends (`kob connect`): the Store interface over its Unix socket.

The holder keeps the inventory's store open, so a command through it imports and connects no etcd client of
its own. Lock waiting, keep-alive and the dead-holder rule run here as for any backend (StoreBackend): lock
holders still name this process. The holder leaving mid-call is a StoreError, as a store that stops answering
is: the call may or may not have been done there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from kob.errors import HolderError, LockLost, StoreError
from kob.lend.wire import (
    blob,
    entry_from_wire,
    event_from_wire,
    event_to_wire,
    lock_info_from_wire,
    store_error_from_wire,
)
from kob.store.backend import StoreBackend
from kob.store.base import Entry, Event, LockInfo
from kob.transport.holder_socket import HolderInfo
from kob.transport.holder_wire import BYTES, json_frame, read_frame

CALL_BOUND = 120.0  # s: a holder that answers no store call in this long is taken as gone


class LentStore(StoreBackend):
    """Every call is one request on its own connection to ``holder``."""

    def __init__(self, holder: HolderInfo):
        self.holder = holder

    async def get(self, key: str) -> Entry | None:
        return entry_from_wire(await self._call("get", key=key))

    async def put(self, key: str, value: bytes) -> int:
        return int(await self._call("put", key=key, value=blob(value)))

    async def delete(self, key: str) -> bool:
        return bool(await self._call("delete", key=key))

    async def list(self, prefix: str) -> list[Entry]:
        return [entry_from_wire(item) for item in await self._call("list", prefix=prefix)]

    async def compare_and_swap(self, key: str, value: bytes, expected_version: int) -> bool:
        return bool(await self._call("compare_and_swap", key=key, value=blob(value),
                                     expected_version=expected_version))

    async def compare_and_swap_all(self, changes: list[tuple[str, bytes, int]]) -> bool:
        return bool(await self._call("compare_and_swap_all", changes=[(k, blob(v), n) for k, v, n in changes]))

    async def try_lock(self, name: str, holder: str, ttl: float, reclaim: bool = False) -> LentLock | LockInfo:
        answer = await self._call("try_lock", name=name, holder=holder, ttl=ttl, reclaim=reclaim)
        if "held" in answer:
            return lock_info_from_wire(answer["held"])
        return LentLock(self, str(answer["lock"]), name, holder, float(answer["since"]), ttl)

    async def lock_info(self, name: str) -> LockInfo | None:
        return lock_info_from_wire(await self._call("lock_info", name=name))

    async def append_event(self, kind: str, message: str, fields: dict[str, Any] | None = None) -> Event:
        return event_from_wire(await self._call("append_event", kind=kind, message=message, fields=fields))

    async def events(self, after_seq: int = 0, limit: int = 100) -> list[Event]:
        return [event_from_wire(item) for item in await self._call("events", after_seq=after_seq, limit=limit)]

    async def trim_events(self, keep: int) -> None:
        await self._call("trim_events", keep=keep)

    async def write_batch(self, puts: list[tuple[str, bytes]], deletes: list[str], events: list[Event]) -> None:
        await self._call("write_batch", puts=[(k, blob(v)) for k, v in puts], deletes=list(deletes),
                         events=[event_to_wire(event) for event in events])

    async def close(self) -> None:
        """Nothing to close: the holder keeps the store open."""

    async def _call(self, method: str, **args: Any) -> Any:
        try:
            answer = await asyncio.wait_for(self._ask({"op": "store", "method": method, "args": args}), CALL_BOUND)
        except (TimeoutError, OSError, HolderError) as error:
            why = "did not answer" if isinstance(error, asyncio.TimeoutError) else f"broke off ({error})"
            raise StoreError(f"{self.holder.describe()}, which lends the store, {why} during {method}; it may "
                             "or may not have been done: check, then run the command again") from None
        if "store_error" in answer:
            raise store_error_from_wire(answer["store_error"])
        if "value" not in answer:
            raise StoreError(f"{self.holder.describe()} failed a store {method}: "
                             f"{(answer.get('error') or {}).get('message', 'no reason given')}")
        return answer["value"]

    async def _ask(self, request: dict[str, Any]) -> dict[str, Any]:
        reader, writer = await asyncio.open_unix_connection(str(self.holder.path))
        try:
            writer.write(json_frame(request))
            await writer.drain()
            frame = await read_frame(reader)
        finally:
            writer.close()
        if frame is None or frame[0] == BYTES:
            raise HolderError("no answer")
        return frame[1]


@dataclass
class LentLock:
    """A lock the holder took for this process; named to the holder by the id it gave."""

    store: LentStore
    lock_id: str
    name: str
    holder: str
    since: float
    ttl: float

    async def refresh(self) -> None:
        try:
            await self.store._call("lock_refresh", lock=self.lock_id)
        except LockLost as lost:
            raise LockLost(f"lock {self.name!r} of {self.holder}: {lost}") from None

    async def release(self) -> bool:
        try:
            return bool(await self.store._call("lock_release", lock=self.lock_id))
        except LockLost:
            return False
