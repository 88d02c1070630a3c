"""The load balancer as a rollout sees it: prepared before, switched during, written after."""

from __future__ import annotations

from kob.deploy.observe import ClusterObservation
from kob.deploy.rollout import Balancer
from kob.spec.inventory import Inventory
from kob.transport.base import Transport


class NullBalancer(Balancer):
    """An inventory without lb: nothing to switch."""

    async def preview(self, config, diff: bool = False) -> dict[str, str]:
        return {}

    async def prepare(self, seen: ClusterObservation) -> None:
        return None

    async def add(self, service, replicas) -> None:
        return None

    async def remove(self, service, host, name, port) -> None:
        return None

    async def finish(self, seen: ClusterObservation) -> dict[str, str]:
        return {}

    async def retire_legacy(self) -> None:
        return None


def balancer_for(pool: Transport, inventory: Inventory, seen: ClusterObservation, owner: str) -> Balancer:
    """The inventory's own load balancer (kob.identity.owner ``owner``'s HAProxy on each lb host)."""
    if inventory.lb is None:
        return NullBalancer()
    from kob.deploy.haproxy_balancer import HaproxyBalancer

    return HaproxyBalancer(pool, inventory, seen, owner)


def final_lb_config(inventory: Inventory, seen: ClusterObservation, plan, wants, owner: str):
    if inventory.lb is None:
        return None
    from kob.commands.haproxy import HaproxyPaths
    from kob.deploy.haproxy_balancer import predicted_config

    return predicted_config(inventory, seen, plan, wants, HaproxyPaths.of(owner))
