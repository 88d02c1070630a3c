"""Sample every host at once: one SSH command per host, rates against the previous sample in the store."""

from __future__ import annotations

import asyncio
import time

from kob.facts.base import Fact
from kob.facts.samples import HostCounters, samples_fact
from kob.metrics.history import LastSample, MetricsBook
from kob.metrics.rates import HostUsage, host_usage
from kob.spec.inventory import Host, Inventory
from kob.transport.base import Transport
from kob.transport.gather import Gathered, gather

MAX_RATE_AGE = 900.0  # an older previous sample is not used for rates: the host samples twice instead
TWO_SAMPLE_GAP = 0.5  # seconds between the two samples of a host without a recent one

ClusterUsage = Gathered[HostUsage]


async def sample_cluster(transport: Transport, inventory: Inventory, book: MetricsBook, owner: str) -> ClusterUsage:
    """Every host's usage now, and that of ``owner``'s containers; each sample is recorded in the store's history."""
    sampling = await SamplingRound.start(inventory, book, owner)
    return await sampling.finish(await gather(transport, inventory, sampling.fact))


class SamplingRound:
    """One sample of every host, in two steps around the SSH commands (which may carry other facts too):
    ``fact(host)`` asks a host, ``finish`` turns the answers into usage and records them."""

    def __init__(self, book: MetricsBook, owner: str, lasts: dict[str, LastSample | None], now: float):
        self.book, self.owner, self.lasts = book, owner, lasts
        self.recent = {name: last for name, last in lasts.items() if last and 0 < now - last.time <= MAX_RATE_AGE}

    @classmethod
    async def start(cls, inventory: Inventory, book: MetricsBook, owner: str) -> SamplingRound:
        lasts = await asyncio.gather(*(book.last(host.name) for host in inventory.hosts))
        return cls(book, owner, dict(zip([h.name for h in inventory.hosts], lasts)), time.time())

    def fact(self, host: Host) -> Fact[list[HostCounters]]:
        """One sample where the store holds a recent one to take rates against, else two half a second apart."""
        return samples_fact(self.owner, 0 if host.name in self.recent else TWO_SAMPLE_GAP)

    async def finish(self, sampled: Gathered[list[HostCounters]]) -> ClusterUsage:
        usage = ClusterUsage(unreachable=dict(sampled.unreachable))
        for name, samples in sampled.hosts.items():
            usage.hosts[name] = _usage(name, samples, self.recent.get(name))
        await asyncio.gather(*(self.book.record(usage.hosts[name], samples[-1], self.lasts[name])
                               for name, samples in sampled.hosts.items()))
        return usage


def _usage(host: str, samples: list[HostCounters], recent: LastSample | None) -> HostUsage:
    """Rates from the host's two samples, or from its last one and the recent one in the store."""
    previous = samples[-2] if len(samples) > 1 else (recent.counters if recent else None)
    return host_usage(host, time.time(), previous, samples[-1])
