"""`kob status`: desired, running and healthy replicas per service, and where they run."""

from __future__ import annotations

from dataclasses import dataclass, field

from kob.deploy.observe import ClusterObservation
from kob.deploy.revisions import RevisionBook
from kob.spec.inventory import Inventory


@dataclass(frozen=True)
class ReplicaStatus:
    replica: int
    host: str
    address: str
    host_port: int | None
    state: str
    health: str | None
    revision: int
    image: str


@dataclass
class ServiceStatus:
    name: str
    image: str
    desired: int
    revision: int | None
    replicas: list[ReplicaStatus] = field(default_factory=list)

    @property
    def running(self) -> int:
        return sum(r.state == "running" for r in self.replicas)

    @property
    def healthy(self) -> int:
        return sum(r.state == "running" and r.health in (None, "healthy") for r in self.replicas)

    def as_json(self) -> dict:
        return {"service": self.name, "image": self.image, "desired": self.desired, "running": self.running,
                "healthy": self.healthy, "revision": self.revision,
                "replicas": [r.__dict__ for r in self.replicas]}


async def service_statuses(inventory: Inventory, seen: ClusterObservation, book: RevisionBook) -> list[ServiceStatus]:
    statuses = []
    for spec in inventory.services:
        current = await book.current(spec.name)
        image = current.spec.image if current else spec.image  # what was last deployed, not what is asked
        status = ServiceStatus(spec.name, image, await book.replicas_for(spec), current.number if current else None)
        for host in inventory.hosts:
            observation = seen.hosts.get(host.name)
            for fact in observation.of_service(spec.name) if observation else ():
                status.replicas.append(ReplicaStatus(fact.replica, host.name, host.address, fact.host_port,
                                                     fact.state, fact.health, fact.revision, fact.image))
        status.replicas.sort(key=lambda r: (r.replica, r.host))
        statuses.append(status)
    return statuses


def render_status(statuses: list[ServiceStatus], seen: ClusterObservation) -> str:
    lines = [f"{'SERVICE':<14} {'DESIRED':>7} {'RUNNING':>7} {'HEALTHY':>7}  {'REV':>3}  IMAGE"]
    for s in statuses:
        lines.append(f"{s.name:<14} {s.desired:>7} {s.running:>7} {s.healthy:>7}  {s.revision or '-':>3}  {s.image}")
        for r in s.replicas:
            where = f"{r.host} {r.address}:{r.host_port}" if r.host_port else r.host
            lines.append(f"  replica {r.replica:<3} {where:<28} {r.state}{f' ({r.health})' if r.health else ''}"
                         f"  rev {r.revision}")
    for host, why in seen.unreachable.items():
        lines.append(f"! {why}")
    return "\n".join(lines)
