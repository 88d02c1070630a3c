"""What the status page shows, as plain JSON-ready dicts (pure).

``assemble`` joins what the store keeps (revisions, scale, autoscale decisions,
host health, the last pass, the leader) with what was just observed on the
hosts (containers, usage, HAProxy's server states). Without a live observation
the hosts' last recorded usage stands in, and replica tables stay empty.

Nothing here reads a service's env or env file: a page never shows them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from kob.deploy.cert_status import certificate_statuses
from kob.deploy.observe import ClusterObservation
from kob.deploy.revisions import Revision
from kob.facts.haproxy import ServerStat
from kob.jobs.model import ACTIVE, Job
from kob.metrics.rates import ContainerUsage, HostUsage
from kob.spec.inventory import Host, Inventory
from kob.spec.service_model import Service
from kob.store.base import Event, LockInfo


JOBS_ENDED_SHOWN = 20


@dataclass
class StoreRecords:
    """What the store holds about one inventory, read in one go."""

    revisions: dict[str, Revision | None] = field(default_factory=dict)  # service → current revision
    desired: dict[str, int] = field(default_factory=dict)  # service → replica count wanted now
    autoscale: dict[str, dict] = field(default_factory=dict)  # service → last decision
    hosts: dict[str, dict] = field(default_factory=dict)  # host → health record
    usage: dict[str, HostUsage] = field(default_factory=dict)  # host → last recorded usage
    events: list[Event] = field(default_factory=list)
    last_pass: dict | None = None
    leader: LockInfo | None = None
    jobs: list[Job] = field(default_factory=list)
    job_counts: dict[str, int] = field(default_factory=dict)  # state → how many jobs are in it


@dataclass
class Live:
    """What the hosts said just now."""

    seen: ClusterObservation
    usage: dict[str, HostUsage] = field(default_factory=dict)
    lb: dict[str, list[ServerStat] | str] = field(default_factory=dict)  # lb host → servers, or why not


def assemble(inventory: Inventory, records: StoreRecords, live: Live | None, now: float) -> dict[str, Any]:
    """The whole overview: hosts, services, load balancers, events, the control loop."""
    usage = {**records.usage, **(live.usage if live else {})}
    return {
        "inventory": inventory.path.stem,
        "time": now,
        "observed": live is not None,
        "hosts": [_host(h, records.hosts.get(h.name, {}), usage.get(h.name), live, now) for h in inventory.hosts],
        "services": [_service(s, records, live, usage) for s in inventory.services],
        "lb": _balancers(inventory, live),
        "certificates": [c.as_json() for c in certificate_statuses(inventory, live.seen if live else None, now)],
        "events": [_event(e) for e in reversed(records.events)],
        "jobs": [job_row(j) for j in shown_jobs(records.jobs)],
        "job_counts": dict(records.job_counts),
        "control": {"leader": dataclasses.asdict(records.leader) if records.leader else None,
                    "last_pass": records.last_pass},
        "problems": sorted(live.seen.unreachable.values()) if live else [],
    }


def host_state(name: str, record: dict, live: Live | None) -> str:
    """up | down | unanswered (not yet counted down) | unknown (never seen)."""
    if live is not None and name in live.seen.hosts:
        return "up"
    if record.get("down_since") is not None:
        return "down"
    if (live is not None and name in live.seen.unreachable) or record.get("unanswered_since") is not None:
        return "unanswered"
    return "up" if record.get("last_seen") else "unknown"


def _host(host: Host, record: dict, usage: HostUsage | None, live: Live | None, now: float) -> dict[str, Any]:
    observed = live.seen.hosts.get(host.name) if live else None
    return {
        "name": host.name, "address": host.address, "roles": sorted(host.roles),
        "labels": dict(host.labels), "state": host_state(host.name, record, live),
        "last_seen": now if observed else record.get("last_seen"), "down_since": record.get("down_since"),
        "unanswered_since": record.get("unanswered_since"),
        "why": live.seen.unreachable.get(host.name) if live else None,
        "usage": _usage(usage),
        "containers": len(observed.containers) if observed else (len(usage.containers) if usage else None),
    }


def _usage(usage: HostUsage | None) -> dict[str, Any] | None:
    if usage is None:
        return None
    return {"time": usage.time, "cpu": usage.cpu, "ncpu": usage.ncpu, "load": list(usage.load),
            "mem_used": usage.mem_used, "mem_total": usage.mem_total,
            "disk_used": usage.disk_used, "disk_total": usage.disk_total}


def _service(spec: Service, records: StoreRecords, live: Live | None,
             usage: dict[str, HostUsage]) -> dict[str, Any]:
    current = records.revisions.get(spec.name)
    replicas = _replicas(spec.name, live, usage) if live else []
    return {
        "name": spec.name,
        "image": current.spec.image if current else spec.image,
        "revision": current.number if current else None,
        "deployed": current is not None,
        "port": spec.port,
        "desired": records.desired.get(spec.name, spec.replicas),
        "running": sum(r["state"] == "running" for r in replicas) if live else None,
        "healthy": sum(r["serving"] for r in replicas) if live else None,
        "hosts": sorted({r["host"] for r in replicas}),
        "autoscale": _autoscale(spec, records.autoscale.get(spec.name)),
        "replicas": replicas,
    }


def _replicas(service: str, live: Live, usage: dict[str, HostUsage]) -> list[dict[str, Any]]:
    rows = []
    for host, observation in live.seen.hosts.items():
        samples = {c.id: c for c in usage[host].containers} if host in usage else {}
        for fact in observation.of_service(service):
            sample = samples.get(fact.id)
            rows.append({"replica": fact.replica, "host": host, "host_port": fact.host_port,
                         "state": fact.state, "health": fact.health, "serving": fact.serving,
                         "revision": fact.revision, "image": fact.image, "restarts": fact.restarts,
                         "cpu": sample.cpu if sample else None, "memory": sample.memory if sample else None})
    return sorted(rows, key=lambda r: (r["replica"], r["host"]))


def _autoscale(spec: Service, last: dict | None) -> dict[str, Any] | None:
    if spec.autoscale is None:
        return None
    rule = spec.autoscale
    return {"min": rule.min, "max": rule.max, "cpu": rule.cpu, "memory": rule.memory,
            "last": {key: last[key] for key in ("time", "current", "desired", "reason") if key in last}
            if last else None}


def _balancers(inventory: Inventory, live: Live | None) -> list[dict[str, Any]]:
    if inventory.lb is None:
        return []
    frontends = [{"name": f.name, "bind": f.bind, "default": f.default_service, "tls": f.tls is not None,
                  "routes": [{"host": r.host, "path": r.path_prefix, "service": r.service} for r in f.routes]}
                 for f in inventory.lb.frontends]
    found = live.lb if live else {}
    return [{"host": host, "frontends": frontends,
             "servers": [_server(s) for s in servers] if isinstance(servers, list) else [],
             "error": servers if isinstance(servers, str) else None}
            for host, servers in found.items()]


def _server(stat: ServerStat) -> dict[str, Any]:
    return {"backend": stat.backend, "server": stat.server, "status": stat.status, "up": stat.up,
            "sessions": stat.current_sessions, "total": stat.total_sessions, "check": stat.check_status,
            "address": stat.address, "rate": stat.session_rate, "requests": stat.requests}


def shown_jobs(jobs: list[Job], ended_shown: int = JOBS_ENDED_SHOWN) -> list[Job]:
    """Queued and running jobs, then the last ``ended_shown`` that ended, newest first."""
    active = [j for j in jobs if j.state in ACTIVE]
    done = [j for j in jobs if j.state not in ACTIVE][-ended_shown:]
    return sorted(active, key=lambda j: -j.id) + sorted(done, key=lambda j: -j.id)


def job_row(job: Job) -> dict[str, Any]:
    last = job.attempts[-1] if job.attempts else None
    return {"id": job.id, "name": job.name, "state": job.state, "image": job.image, "command": list(job.command),
            "cpus": job.cpus, "memory": job.memory, "priority": job.priority, "retries": job.retries,
            "submitted": job.submitted, "who": job.who, "tries": len(job.attempts),
            "host": last.host if last else None, "exit_code": job.exit_code,
            "reason": last.reason if last else "", "not_before": job.not_before or None,
            "attempts": [dataclasses.asdict(a) for a in job.attempts]}


def _event(event: Event) -> dict[str, Any]:
    return {"seq": event.seq, "time": event.time, "kind": event.kind, "message": event.message,
            "service": event.fields.get("service")}


def container_row(host: str, c: ContainerUsage) -> dict[str, Any]:
    """One container of a host page."""
    return {"host": host, "service": c.service, "replica": c.replica, "state": c.state,
            "restarts": c.restarts, "cpu": c.cpu, "memory": c.memory, "memory_limit": c.memory_limit}
