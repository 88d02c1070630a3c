"""From the inventory and the store to what this run wants per service."""

from __future__ import annotations

from kob.deploy.revisions import RevisionBook
from kob.plan.diff import DesiredService
from kob.plan.spec_hash import spec_hash
from kob.spec.env_file import Secrets, read_env_file
from kob.spec.inventory import Inventory
from kob.spec.patterns import select_hosts
from kob.spec.service_model import Service


def read_secrets(service: Service) -> Secrets:
    return read_env_file(service.env_file, service.name)


def eligible_hosts(inventory: Inventory, service: Service, reachable: set[str]) -> tuple[str, ...]:
    placement = service.placement
    return tuple(host.name for host in select_hosts(inventory, placement.hosts)
                 if host.name in reachable and all(c.allows(host.labels, host.roles) for c in placement.constraints))


async def desired_service(inventory: Inventory, spec: Service, book: RevisionBook, reachable: set[str], owner: str,
                          replicas: int | None = None) -> DesiredService:
    """The service as wanted now, its containers labelled ``owner``; its revision is the current one, or the
    next when the spec changed."""
    digest = spec_hash(spec, read_secrets(spec).digest)
    current = await book.current(spec.name)
    revision = current.number if current and current.spec_hash == digest else (current.number + 1 if current else 1)
    count = replicas if replicas is not None else await book.replicas_for(spec)
    return DesiredService(spec, count, revision, digest, eligible_hosts(inventory, spec, reachable), owner=owner)
