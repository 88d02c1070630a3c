"""The event log of one inventory: deploys, scaling decisions, heals, hosts going down and coming back.

The store's log is shared by every inventory that uses it; each event carries its
inventory's namespace in ``fields["ns"]``.
"""

from __future__ import annotations

from typing import Any

from kob.store.base import Event, Store

PAGE = 500


class EventLog:
    def __init__(self, store: Store, namespace: str):
        self.store, self.namespace = store, namespace

    async def add(self, kind: str, message: str, **fields: Any) -> Event:
        return await self.store.append_event(kind, message, {"ns": self.namespace, **fields})

    async def recent(self, limit: int = 50, kinds: set[str] | None = None) -> list[Event]:
        """The last ``limit`` events of this inventory (of those ``kinds``), oldest first."""
        found: list[Event] = []
        after = 0
        while page := await self.store.events(after, PAGE):
            found += [e for e in page if e.fields.get("ns") == self.namespace and (kinds is None or e.kind in kinds)]
            found = found[-limit:]
            after = page[-1].seq
        return found
