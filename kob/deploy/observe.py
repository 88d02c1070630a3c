"""What every host runs: one SSH command per host, all hosts at once."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from kob.commands.docker import observe_argv
from kob.commands.haproxy import CONFIG_PATH, PIDFILE
from kob.errors import TransportError
from kob.facts.containers import HostObservation, ObservationError, parse_observation
from kob.spec.inventory import Host, Inventory
from kob.spec.patterns import select_hosts
from kob.transport.base import Transport
from kob.transport.targets import ssh_target


@dataclass
class ClusterObservation:
    hosts: dict[str, HostObservation] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)  # host → why


def lb_hosts(inventory: Inventory) -> list[Host]:
    return select_hosts(inventory, inventory.lb.hosts) if inventory.lb else []


async def observe_cluster(pool: Transport, inventory: Inventory) -> ClusterObservation:
    balancers = {host.name for host in lb_hosts(inventory)}

    async def one(host: Host) -> tuple[str, HostObservation | str]:
        argv = observe_argv(haproxy=(CONFIG_PATH, PIDFILE) if host.name in balancers else None)
        try:
            result = await pool.run(ssh_target(inventory, host), argv)
        except TransportError as error:
            return host.name, str(error)
        if not result.ok:
            return host.name, f"{host.name}: observing failed (exit {result.rc}): {result.stderr.strip()[:200]}"
        try:
            return host.name, parse_observation(host.name, result.stdout)
        except ObservationError as error:
            return host.name, str(error)

    seen = ClusterObservation()
    for name, outcome in await asyncio.gather(*(one(host) for host in inventory.hosts)):
        if isinstance(outcome, HostObservation):
            seen.hosts[name] = outcome
        else:
            seen.unreachable[name] = outcome
    return seen
