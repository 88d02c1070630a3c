"""Host health kept in the store: when each host last answered, since when it has not, whether it is down.

Keys, under the inventory's namespace:

    hosts/<name>   {"last_seen", "unanswered_since", "down_since", "services": {service: replicas}}

A host is marked down once it has not answered for ``down_after`` seconds, counted from
the first pass that could not reach it. ``services`` is what it ran when last seen.
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from typing import Callable

from kob.deploy.events import EventLog
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

    async def update(self, seen: ClusterObservation, down_after: float, now: float, write: bool = True) -> HostMarks:
        """Record this observation; mark hosts down or back up. ``write=False``: only say what it would record."""
        known, marks, records = await self.records(), HostMarks(), {}
        for host, observation in seen.hosts.items():
            record = known.get(host, {})
            if record.get("down_since") is not None:
                marks.back[host] = now - record["down_since"]
            services: dict[str, int] = {}
            for container in observation.containers:
                services[container.service] = services.get(container.service, 0) + 1
            records[host] = {"last_seen": now, "unanswered_since": None, "down_since": None, "services": services}
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
            records[host] = {**record, "unanswered_since": since, "down_since": down_since}
        if write:
            for host, record in records.items():
                await self.store.put(self.prefix + host, json.dumps(record).encode())
        return marks


async def note_hosts(store: Store, namespace: str, seen: ClusterObservation, down_after: float,
                     say: Callable[[str], None], write: bool = True) -> HostMarks:
    """Record who answered (HostHealthBook.update) and log hosts going down or coming back, once each.
    ``write=False`` (a deploy's --check): the marks this would give, nothing recorded."""
    marks = await HostHealthBook(store, namespace).update(seen, down_after, time.time(), write)
    if not write:
        return marks
    events = EventLog(store, namespace)
    for host in sorted(marks.newly_down):
        message = f"{host}: no answer for {down_after:g} s or more; marked down, its replicas move to other hosts"
        say(f"! {message}")
        await events.add("host-down", message, host=host)
    for host, seconds in sorted(marks.back.items()):
        message = f"{host}: answers again after {seconds:.0f} s down; duplicate replicas there are removed"
        say(message)
        await events.add("host-up", message, host=host)
    return marks


def waiting_services(marks: HostMarks, down_after: float) -> dict[str, str]:
    """The one rule for unanswering hosts: a service that ran on a host not down yet waits (service → why);
    its replicas move only once the host is down."""
    waiting = {}
    for host, seconds in marks.suspect.items():
        for service in marks.last_services.get(host, {}):
            waiting[service] = (f"{host} has not answered for {seconds:.0f} s; its replicas move once it is "
                                f"down ({down_after:g} s)")
    return waiting
