"""From jobs and what the hosts said to the placement policy's inputs (pure)."""

from __future__ import annotations

from kob.facts.jobs import HostJobs
from kob.jobs.model import Job
from kob.policy.jobs import HostRoom, QueuedJob
from kob.spec.inventory import Inventory
from kob.spec.service_model import Constraint
from kob.transport.gather import Gathered


def constraint_text(constraint: Constraint) -> str:
    return f"{constraint.label}{'==' if constraint.equal else '!='}{constraint.value}"


def constraint_from_text(text: str) -> Constraint:
    """``zone==a`` or ``zone!=b``, as constraint_text writes them."""
    for operator, equal in (("==", True), ("!=", False)):
        label, found, value = text.partition(operator)
        if found:
            return Constraint(label, equal, value)
    raise ValueError(f"{text!r} is not LABEL==VALUE or LABEL!=VALUE")


def queued_jobs(jobs: list[Job], inventory: Inventory) -> list[QueuedJob]:
    """The queued jobs as the policy sees them; hosts where an attempt was lost or failed are avoided."""
    return [QueuedJob(j.id, j.priority, j.submitted, j.reserved_cpus, j.memory,
                      tuple(constraint_from_text(c) for c in j.constraints), j.not_before,
                      frozenset(a.host for a in j.attempts))
            for j in jobs if j.state == "queued"]


def host_rooms(inventory: Inventory, seen: Gathered[HostJobs], running: list[Job]) -> list[HostRoom]:
    """Every answering host: its declared (else observed) CPUs and memory, and what jobs and replicas reserve."""
    rooms = []
    for host in inventory.hosts:
        found = seen.hosts.get(host.name)
        if found is None:
            continue
        cpus, memory = 0.0, 0
        for job in running:
            if job.current.host == host.name:
                cpus, memory = cpus + job.reserved_cpus, memory + (job.memory or 0)
        for service, count in found.services.items():
            spec = next((s for s in inventory.services if s.name == service), None)
            if spec is not None:
                cpus += count * (spec.resources.cpus or 0.0)
                memory += count * (spec.resources.memory or 0)
        rooms.append(HostRoom(host.name, host.cpus or float(found.cpus), host.memory or found.memory, cpus, memory,
                              dict(host.labels), tuple(host.roles)))
    return rooms
