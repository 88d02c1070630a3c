"""From the inventory and the store to what this run wants per service."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from kob.deploy.revisions import RevisionBook
from kob.errors import KobError
from kob.plan.diff import DesiredService
from kob.plan.spec_hash import spec_hash
from kob.spec.inventory import Inventory
from kob.spec.patterns import select_hosts
from kob.spec.service_model import Service
from kob.spec.env_file import MAX_ENV_FILE, bad_env_line


@dataclass(frozen=True)
class Secrets:
    """An env file's bytes, read on the manager; only ever sent to docker on stdin."""

    content: bytes = b""

    @property
    def digest(self) -> str:
        return hashlib.sha256(self.content).hexdigest() if self.content else ""

    def __repr__(self) -> str:  # never in logs or tracebacks
        return f"Secrets(<{len(self.content)} bytes>)"


def read_secrets(service: Service) -> Secrets:
    if service.env_file is None:
        return Secrets()
    try:
        with service.env_file.open("rb") as file:
            data = file.read(MAX_ENV_FILE + 1)
    except OSError as error:
        raise KobError(f"{service.name}: cannot read env_file {service.env_file}: {error.strerror}") from None
    if len(data) > MAX_ENV_FILE:
        raise KobError(f"{service.name}: env_file {service.env_file} is larger than {MAX_ENV_FILE >> 10} KiB; "
                       "is it the right file?")
    bad = bad_env_line(data)
    if bad is not None:
        raise KobError(f"{service.name}: env_file {service.env_file} line {bad} is not NAME=value (the line is "
                       "not shown: it may hold a secret)")
    return Secrets(data)


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
