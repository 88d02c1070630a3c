"""Sample every host at once: one SSH command per host, rates against the previous sample in the store."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass, field

from kob.commands.metrics import sample_argv
from kob.errors import TransportError
from kob.facts.containers import ObservationError
from kob.facts.samples import HostCounters, parse_samples
from kob.metrics.history import LastSample, MetricsBook
from kob.metrics.rates import HostUsage, host_usage
from kob.spec.inventory import Host, Inventory
from kob.transport.base import Transport
from kob.transport.targets import ssh_target

MAX_RATE_AGE = 900.0  # an older previous sample is not used for rates: the host samples twice instead
TWO_SAMPLE_GAP = 0.5  # seconds between the two samples of a host without a recent one


@dataclass
class ClusterUsage:
    hosts: dict[str, HostUsage] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)  # host → why


async def sample_cluster(pool: Transport, inventory: Inventory, book: MetricsBook) -> ClusterUsage:
    """Every host's usage now; each sample is recorded in the store's history."""
    lasts = await asyncio.gather(*(book.last(host.name) for host in inventory.hosts))
    outcomes = await asyncio.gather(*(_sample_host(pool, inventory, host, last)
                                      for host, last in zip(inventory.hosts, lasts)))
    usage, records = ClusterUsage(), []
    for host, last, outcome in zip(inventory.hosts, lasts, outcomes):
        if isinstance(outcome, str):
            usage.unreachable[host.name] = outcome
            continue
        usage.hosts[host.name], counters = outcome
        records.append(book.record(usage.hosts[host.name], counters, last))
    await asyncio.gather(*records)
    return usage


async def _sample_host(pool: Transport, inventory: Inventory, host: Host,
                       last: LastSample | None) -> tuple[HostUsage, HostCounters] | str:
    now = time.time()
    recent = last if last and 0 < now - last.time <= MAX_RATE_AGE else None
    try:
        result = await pool.run(ssh_target(inventory, host), sample_argv(0 if recent else TWO_SAMPLE_GAP))
        if not result.ok:
            return f"{host.name}: sampling failed (exit {result.rc}): {result.stderr.strip()[:200]}"
        samples = parse_samples(host.name, result.stdout)
    except (TransportError, ObservationError) as error:
        return str(error)
    previous = samples[-2] if len(samples) > 1 else (recent.counters if recent else None)
    return host_usage(host.name, time.time(), previous, samples[-1]), samples[-1]
