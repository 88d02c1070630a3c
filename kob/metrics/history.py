"""Samples kept in the store: each host's last counters (for the next rate) and a bounded usage history.

Keys, under the inventory's namespace (``kob/<inventory stem>/``):

    metrics/last/<host>                  {"time", "counters", "trimmed"}: the raw counters of the last sample
    metrics/history/<host>/<ms, 13 digits>   a HostUsage: rates and sizes at that time
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from kob.facts.samples import HostCounters
from kob.metrics.rates import HostUsage
from kob.store.base import Store


@dataclass(frozen=True)
class LastSample:
    time: float
    counters: HostCounters
    trimmed: float = 0.0  # when the history was last trimmed


TRIM_EVERY = 300.0  # seconds: trimming lists the host's whole history, so not on every sample


class MetricsBook:
    def __init__(self, store: Store, namespace: str, retention: float):
        self.store = store
        self.prefix = namespace.rstrip("/") + "/metrics/"
        self.retention = retention

    async def last(self, host: str) -> LastSample | None:
        entry = await self.store.get(f"{self.prefix}last/{host}")
        if entry is None:
            return None
        data = json.loads(entry.value)
        return LastSample(data["time"], HostCounters.from_dict(data["counters"]), data.get("trimmed", 0.0))

    async def record(self, usage: HostUsage, counters: HostCounters, previous: LastSample | None) -> None:
        """Keep the counters for the next rate and the usage in the history; drop what is past retention."""
        trim = previous is None or usage.time - previous.trimmed >= TRIM_EVERY
        last = {"time": usage.time, "counters": counters.to_dict(),
                "trimmed": usage.time if trim else previous.trimmed}
        # the history first: `last` then always names a sample already kept (see ``latest``)
        await self.store.put(self._history_key(usage.host, usage.time), json.dumps(usage.to_dict()).encode())
        await self.store.put(f"{self.prefix}last/{usage.host}", json.dumps(last).encode())
        if trim:
            cutoff = self._history_key(usage.host, usage.time - self.retention)
            for entry in await self.store.list(f"{self.prefix}history/{usage.host}/"):
                if entry.key < cutoff:
                    await self.store.delete(entry.key)

    async def latest(self, host: str) -> HostUsage | None:
        """The host's newest kept usage, in two reads (its `last` record names it), not a listing."""
        last = await self.store.get(f"{self.prefix}last/{host}")
        if last is None:
            return None
        entry = await self.store.get(self._history_key(host, json.loads(last.value)["time"]))
        return HostUsage.from_dict(json.loads(entry.value)) if entry else None

    async def history(self, host: str, since: float = 0.0) -> list[HostUsage]:
        """The host's kept usage, oldest first."""
        cutoff = self._history_key(host, since)
        return [HostUsage.from_dict(json.loads(e.value))
                for e in await self.store.list(f"{self.prefix}history/{host}/") if e.key >= cutoff]

    def _history_key(self, host: str, time: float) -> str:
        return f"{self.prefix}history/{host}/{max(0, int(time * 1000)):013d}"
