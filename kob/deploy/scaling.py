"""Changes to one service's count or revision: `kob scale` and `kob rollback`, each a scoped deploy."""

from __future__ import annotations

import dataclasses
from typing import Callable

from kob.deploy.converge import DeployReport, deploy
from kob.deploy.events import EventLog
from kob.deploy.revisions import RevisionBook, deployed_services
from kob.errors import KobError
from kob.identity import namespace
from kob.spec.inventory import Inventory
from kob.spec.services import MAX_REPLICAS
from kob.store.base import Store
from kob.transport.base import Transport


def checked_count(inventory: Inventory, name: str, count: int) -> int:
    """``count`` for service ``name``, or KobError when the service autoscales within bounds it leaves."""
    service = inventory.service(name)
    if count > MAX_REPLICAS:
        raise KobError(f"{name}={count}: at most {MAX_REPLICAS} replicas of one service")
    if service.autoscale and service.autoscale.clamp(count) != count:
        raise KobError(f"{name} autoscales between {service.autoscale.min} and {service.autoscale.max} "
                       f"({inventory.path}:{service.line}); {count} is outside")
    return count


async def scale(inventory: Inventory, counts: dict[str, int], store: Store, transport: Transport, *,
                wait: float = 0, say: Callable[[str], None] = print) -> DeployReport:
    """Keep ``counts`` (service → replicas) until the inventory's own count changes, then converge those services."""
    book, events = RevisionBook(store, namespace(inventory)), EventLog(store, namespace(inventory))
    checked = {name: (checked_count(inventory, name, count), inventory.service(name).replicas)
               for name, count in counts.items()}
    await book.set_scales(checked)  # every count or none, also when the store goes away
    for name, count in counts.items():
        await events.add("scale", f"{name}: scaled to {count}", service=name)
    now = dataclasses.replace(inventory, services=await deployed_services(book, inventory.services, set(counts)))
    return await deploy(now, wait=wait, say=say, store=store, pool=transport, only=set(counts))


async def rollback(inventory: Inventory, service: str, to_revision: int | None, store: Store, transport: Transport,
                   *, wait: float = 0, say: Callable[[str], None] = print) -> DeployReport:
    """Deploy revision ``to_revision`` of ``service`` (default: the one before the current) by itself."""
    book = RevisionBook(store, namespace(inventory))
    history = await book.history(service)
    if to_revision is None and len(history) < 2:
        raise KobError(f"{service} has no earlier revision to roll back to")
    target = await book.get(service, to_revision or history[-2].number)
    say(f"rolling {service} back to revision {target.number} ({target.spec.image})")
    spec = dataclasses.replace(target.spec, replicas=inventory.service(service).replicas)
    services = tuple(spec if s.name == service else s for s in inventory.services)
    return await deploy(dataclasses.replace(inventory, services=services), wait=wait, say=say, store=store,
                        pool=transport, only={service})
