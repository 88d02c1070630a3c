"""The store's records as JSON for the connection holder's socket (pure), and the methods it lends.

A command that finds a live holder (`kob connect`) for its inventory asks the holder's open store instead of
opening its own: no etcd client to import and connect, a Unix-socket round trip per call
(kob.lend.client is the client, kob.lend.desk the server). Values travel as base64.
"""

from __future__ import annotations

import base64
from typing import Any

from kob.errors import HolderError, LockHeld, LockLost, StoreError
from kob.store.base import Entry, Event, LockInfo

# method → its argument names, in order: what a client may ask (locks are taken with try_lock and then named
# by the id the holder gave them).
METHODS: dict[str, tuple[str, ...]] = {
    "get": ("key",), "put": ("key", "value"), "delete": ("key",), "list": ("prefix",),
    "compare_and_swap": ("key", "value", "expected_version"), "compare_and_swap_all": ("changes",),
    "try_lock": ("name", "holder", "ttl", "reclaim"), "lock_info": ("name",),
    "append_event": ("kind", "message", "fields"), "events": ("after_seq", "limit"), "trim_events": ("keep",),
    "write_batch": ("puts", "deletes", "events"), "lock_refresh": ("lock",), "lock_release": ("lock",),
}


def blob(data: bytes) -> str:
    return base64.b64encode(data).decode()


def unblob(text: Any) -> bytes:
    if not isinstance(text, str):
        raise HolderError("a store value that is not base64 text")
    return base64.b64decode(text.encode(), validate=True)


def entry_to_wire(entry: Entry | None) -> dict[str, Any] | None:
    return None if entry is None else {"key": entry.key, "value": blob(entry.value), "version": entry.version}


def entry_from_wire(data: dict[str, Any] | None) -> Entry | None:
    return None if data is None else Entry(str(data["key"]), unblob(data["value"]), int(data["version"]))


def event_to_wire(event: Event) -> dict[str, Any]:
    return {"seq": event.seq, "time": event.time, "kind": event.kind, "message": event.message,
            "fields": event.fields}


def event_from_wire(data: dict[str, Any]) -> Event:
    return Event(int(data["seq"]), float(data["time"]), str(data["kind"]), str(data["message"]),
                 dict(data.get("fields") or {}))


def lock_info_to_wire(info: LockInfo | None) -> dict[str, Any] | None:
    return None if info is None else {"name": info.name, "holder": info.holder, "since": info.since,
                                      "expires_at": info.expires_at}


def lock_info_from_wire(data: dict[str, Any] | None) -> LockInfo | None:
    if data is None:
        return None
    return LockInfo(str(data["name"]), str(data["holder"]), float(data["since"]), float(data["expires_at"]))


def store_error_to_wire(error: StoreError) -> dict[str, Any]:
    if isinstance(error, LockHeld):
        return {"kind": "LockHeld", "name": error.name, "holder": error.holder, "since": error.since}
    return {"kind": "LockLost" if isinstance(error, LockLost) else "StoreError", "message": str(error)}


def store_error_from_wire(data: dict[str, Any]) -> StoreError:
    """The store's own error as the holder met it, raised in the client as if its own store had."""
    kind = data.get("kind")
    if kind == "LockHeld":
        return LockHeld(str(data.get("name")), str(data.get("holder")), float(data.get("since") or 0))
    return (LockLost if kind == "LockLost" else StoreError)(str(data.get("message", "no reason given")))
