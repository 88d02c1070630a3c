"""`kob down`: remove every container of the inventory and stop its HAProxy; nothing of anyone else's.

The store keeps the revisions and scale counts, so the next `kob deploy` brings the services back.
Job containers are the jobs' own (`kob job cancel`) and are left alone.
"""

from __future__ import annotations

import asyncio
import shlex
from dataclasses import dataclass, field
from typing import Callable

from kob.commands.docker import remove_argv
from kob.commands.haproxy import HaproxyPaths, stop_argv
from kob.deploy.events import EventLog
from kob.deploy.observe import ClusterObservation, observe_cluster
from kob.identity import deploy_lock, namespace, owner
from kob.spec.inventory import Inventory
from kob.store.base import Store
from kob.transport.base import Transport
from kob.transport.targets import ssh_target


@dataclass
class TeardownReport:
    observation: ClusterObservation
    removed: dict[str, int] = field(default_factory=dict)  # host → containers removed
    balancers: list[str] = field(default_factory=list)  # lb hosts whose HAProxy was stopped


async def take_down(inventory: Inventory, store: Store, pool: Transport, say: Callable[[str], None] = print,
                    wait: float = 0) -> TeardownReport:
    """Remove the inventory's service containers (drained by the stop) and its HAProxy on each lb host."""
    me = await owner(store, inventory)
    async with deploy_lock(store, inventory, wait):
        seen = await observe_cluster(pool, inventory, me)
        for why in seen.unreachable.values():
            say(f"! {why}: its containers stay until it answers and `kob down` runs again")
        report = TeardownReport(seen)
        paths = HaproxyPaths.of(me)
        stop_lb = (f"{shlex.join(stop_argv(paths.pidfile))}; rm -f {shlex.quote(paths.config)}; "
                   f"rm -rf {shlex.quote(paths.certs)}")

        async def one(host: str) -> None:
            target = ssh_target(inventory, inventory.host(host))
            observation = seen.hosts[host]
            if observation.haproxy is not None:
                (await pool.run(target, ["sh", "-c", stop_lb])).check()
                report.balancers.append(host)
            ids = [c.id for c in observation.containers]
            if ids:
                (await pool.run(target, remove_argv(ids))).check()
                report.removed[host] = len(ids)

        await asyncio.gather(*(one(host) for host in seen.hosts))
        for host, count in sorted(report.removed.items()):
            say(f"- {count} container{'s' if count != 1 else ''} on {host}")
        for host in sorted(report.balancers):
            say(f"- haproxy on {host}")
        await EventLog(store, namespace(inventory)).add(
            "down", f"down: {sum(report.removed.values())} containers removed, HAProxy stopped on "
                    f"{len(report.balancers)} hosts")
        return report
