"""Sample every host at once: one SSH command per host, rates against the previous sample in the store."""

from __future__ import annotations

import asyncio
import time

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
    now = time.time()
    lasts = dict(zip([h.name for h in inventory.hosts],
                     await asyncio.gather(*(book.last(host.name) for host in inventory.hosts))))
    recent = {name: last for name, last in lasts.items() if last and 0 < now - last.time <= MAX_RATE_AGE}

    def fact(host: Host):
        return samples_fact(owner, 0 if host.name in recent else TWO_SAMPLE_GAP)

    sampled = await gather(transport, inventory, fact)
    usage = ClusterUsage(unreachable=sampled.unreachable)
    for name, samples in sampled.hosts.items():
        usage.hosts[name] = _usage(name, samples, recent.get(name))
    await asyncio.gather(*(book.record(usage.hosts[name], samples[-1], lasts[name])
                           for name, samples in sampled.hosts.items()))
    return usage


def _usage(host: str, samples: list[HostCounters], recent: LastSample | None) -> HostUsage:
    """Rates from the host's two samples, or from its last one and the recent one in the store."""
    previous = samples[-2] if len(samples) > 1 else (recent.counters if recent else None)
    return host_usage(host, time.time(), previous, samples[-1])
