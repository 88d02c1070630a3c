"""What every host runs: one SSH command per host, all hosts at once."""

from __future__ import annotations

from typing import TYPE_CHECKING

from kob.commands.haproxy import HaproxyPaths
from kob.facts.base import both
from kob.facts.containers import HostObservation, observation_fact
from kob.spec.inventory import Host, Inventory
from kob.spec.patterns import select_hosts
from kob.transport.base import Transport
from kob.transport.gather import Gathered, gather

if TYPE_CHECKING:  # sampling is imported by the page and the passes only, not by every command that observes
    from kob.metrics.history import MetricsBook
    from kob.metrics.sampler import ClusterUsage

ClusterObservation = Gathered[HostObservation]


def lb_hosts(inventory: Inventory) -> list[Host]:
    return select_hosts(inventory, inventory.lb.hosts) if inventory.lb else []


async def observe_and_sample(transport: Transport, inventory: Inventory, owner: str,
                             book: MetricsBook) -> tuple[ClusterObservation, ClusterUsage]:
    """observe_cluster and sample_cluster in one SSH command per host: what a refresh of the page and a
    periodic pass need."""
    from kob.metrics.sampler import SamplingRound

    sampling = await SamplingRound.start(inventory, book, owner)
    balancers = {host.name for host in lb_hosts(inventory)}
    paths = HaproxyPaths.of(owner)
    answers = await gather(transport, inventory, lambda host: both(observation_fact(
        owner, haproxy=(paths.config, paths.pidfile, paths.certs) if host.name in balancers else None),
        sampling.fact(host)))
    seen = ClusterObservation({name: pair[0] for name, pair in answers.hosts.items()}, dict(answers.unreachable))
    usage = await sampling.finish(Gathered({name: pair[1] for name, pair in answers.hosts.items()},
                                           dict(answers.unreachable)))
    return seen, usage


async def observe_cluster(transport: Transport, inventory: Inventory, owner: str) -> ClusterObservation:
    """Every host's containers of ``owner`` (kob.identity.owner) and images, and the load balancer on lb hosts."""
    balancers = {host.name for host in lb_hosts(inventory)}
    paths = HaproxyPaths.of(owner)
    return await gather(transport, inventory, lambda host: observation_fact(
        owner, haproxy=(paths.config, paths.pidfile, paths.certs) if host.name in balancers else None))
