"""Host health kept in the store: when each host last answered, since when it has not, whether it is down.

Keys, under the inventory's namespace:

    hosts/<name>   {"last_seen", "unanswered_since", "down_since", "services": {service: replicas}}

A host is marked down once it has not answered for ``down_after`` seconds, counted from
the first pass that could not reach it. ``services`` is what it ran when last seen.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from kob.deploy.observe import ClusterObservation
from kob.store.base import Store


@dataclass
class HostMarks:
    """What one pass learnt about the hosts."""

    down: set[str] = field(default_factory=set)  # marked down, now or earlier
    newly_down: set[str] = field(default_factory=set)
    back: dict[str, float] = field(default_factory=dict)  # host → seconds it was down, for hosts back this pass
    suspect: dict[str, float] = field(default_factory=dict)  # unanswering, not yet down → seconds so far
    last_services: dict[str, dict[str, int]] = field(default_factory=dict)  # unanswering host → what it ran


class HostHealthBook:
    def __init__(self, store: Store, namespace: str):
        self.store = store
        self.prefix = namespace.rstrip("/") + "/hosts/"

    async def records(self) -> dict[str, dict]:
        return {e.key[len(self.prefix):]: json.loads(e.value) for e in await self.store.list(self.prefix)}

    async def update(self, seen: ClusterObservation, down_after: float, now: float) -> HostMarks:
        """Record this observation; mark hosts down or back up."""
        known, marks = await self.records(), HostMarks()
        for host, observation in seen.hosts.items():
            record = known.get(host, {})
            if record.get("down_since") is not None:
                marks.back[host] = now - record["down_since"]
            services: dict[str, int] = {}
            for container in observation.containers:
                services[container.service] = services.get(container.service, 0) + 1
            await self._put(host, {"last_seen": now, "unanswered_since": None, "down_since": None,
                                   "services": services})
        for host in seen.unreachable:
            record = known.get(host, {"last_seen": None, "services": {}})
            since = record.get("unanswered_since") or now
            down_since = record.get("down_since")
            if down_since is None and now - since >= down_after:
                down_since = now
                marks.newly_down.add(host)
            if down_since is not None:
                marks.down.add(host)
            else:
                marks.suspect[host] = now - since
            marks.last_services[host] = record.get("services", {})
            await self._put(host, {**record, "unanswered_since": since, "down_since": down_since})
        return marks

    async def _put(self, host: str, record: dict) -> None:
        await self.store.put(self.prefix + host, json.dumps(record).encode())
