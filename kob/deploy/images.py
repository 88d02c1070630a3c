"""Images without a registry: stream them to the hosts that lack them, once per host, in parallel."""

from __future__ import annotations

import asyncio
from typing import Callable

from kob.deploy.observe import ClusterObservation
from kob.errors import KobError
from kob.plan.actions import Create, Replace
from kob.plan.diff import Plan
from kob.spec.inventory import Inventory
from kob.transport.ssh import SshPool
from kob.transport.targets import ssh_target


def missing_images(plan: Plan, images: dict[str, str], seen: ClusterObservation) -> dict[str, set[str]]:
    """host → image references that the plan starts there and the host does not have."""
    missing: dict[str, set[str]] = {}
    for action in plan.actions:
        if isinstance(action, (Create, Replace)):
            ref = images[action.start.service]
            if ref not in seen.hosts[action.start.host].images:
                missing.setdefault(action.start.host, set()).add(ref)
    return missing


async def ship_images(pool: SshPool, inventory: Inventory, seen: ClusterObservation, missing: dict[str, set[str]],
                      say: Callable[[str], None]) -> None:
    """Relay each missing image from a host that has it (`docker save` into `docker load`)."""
    async def ship(host: str, ref: str) -> None:
        source = next((h for h, o in seen.hosts.items() if ref in o.images), None)
        if source is None:
            raise KobError(f"{host}: image {ref} is on no host of the inventory; load it on one "
                           f"(docker load) or push it to a registry the hosts can pull from")
        src, dst = ssh_target(inventory, inventory.host(source)), ssh_target(inventory, inventory.host(host))
        say(f"  image {ref}: {source} → {host} ...")
        sent, loaded, size = await pool.relay(src, ["docker", "save", ref], dst, ["docker", "load", "-q"])
        for result in (sent, loaded):
            result.check()
        say(f"  image {ref}: {source} → {host}: {size / 1e6:.1f} MB")

    await asyncio.gather(*(ship(host, ref) for host, refs in missing.items() for ref in sorted(refs)))
