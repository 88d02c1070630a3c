"""`kob send-image`: put an image of the manager's Docker on hosts ahead of a deploy, once, and only what they lack."""

from __future__ import annotations

from collections.abc import Callable

from kob.deploy.images import Shipment, manager_image_ids, ship_to_each
from kob.errors import DeployError
from kob.facts.image_layers import host_layers_fact
from kob.plan.preflight import MANAGER, ImageSource
from kob.spec.inventory import Host, Inventory
from kob.transport.base import Transport
from kob.transport.gather import gather


async def send_image(pool: Transport, inventory: Inventory, ref: str, hosts: list[Host],
                     say: Callable[[str], None]) -> Shipment:
    """Every host in ``hosts`` ends with ``ref`` as the manager's image ID (tagged if it had the ID under another
    name); unreachable hosts are in the shipment's failures."""
    image_id = (await manager_image_ids([ref])).get(ref)
    if image_id is None:
        raise DeployError(f"manager: no image {ref} in its Docker (docker image inspect {ref}); build or pull it first")
    seen = await gather(pool, inventory, host_layers_fact(), hosts)
    source = ImageSource(ref, image_id, MANAGER)
    lacking = {host: [source] for host in seen.hosts}
    shipment = await ship_to_each(pool, inventory, seen, lacking, say)
    shipment.failed.update(seen.unreachable)
    return shipment
