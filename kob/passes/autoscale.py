"""One autoscaling pass: sample, decide per autoscaled service, record why, converge what changed.

Keys, under the inventory's namespace:

    services/<name>/autoscale   {"recommendations": [[time, replicas], ...], "last": decision}
"""

from __future__ import annotations

import dataclasses
import json
import time
from typing import Callable

from kob.deploy.converge import DeployReport, deploy
from kob.identity import namespace, owner
from kob.deploy.events import EventLog
from kob.deploy.revisions import RevisionBook, deployed_services
from kob.metrics.history import MetricsBook
from kob.metrics.rates import ContainerUsage
from kob.metrics.sampler import ClusterUsage, sample_cluster
from kob.policy.autoscale import Decision, Recommendation, decide, kept_history
from kob.spec.inventory import Inventory
from kob.spec.service_model import Service
from kob.store.base import Store
from kob.transport.base import Transport


@dataclasses.dataclass
class AutoscaleReport:
    decisions: dict[str, Decision] = dataclasses.field(default_factory=dict)
    usage: ClusterUsage | None = None
    deploy: DeployReport | None = None


async def autoscale_pass(inventory: Inventory, store: Store, pool: Transport,
                         say: Callable[[str], None] = print, usage: ClusterUsage | None = None) -> AutoscaleReport:
    """The caller holds the deploy lock (kob.identity.deploy_lock); ``usage``: a sample it just took."""
    ns = namespace(inventory)
    book = RevisionBook(store, ns)
    if usage is None:
        usage = await sample_cluster(pool, inventory, MetricsBook(store, ns, inventory.control.retention),
                                     await owner(store, inventory))
    report = AutoscaleReport(usage=usage)
    for host, why in report.usage.unreachable.items():
        say(f"! {why}")
    for spec in inventory.services:
        if spec.autoscale is None:
            continue
        if await book.current(spec.name) is None:
            say(f"{spec.name}: not deployed yet; autoscaling starts after kob deploy")
            continue
        decision = await _decide(store, book, ns, spec, report.usage)
        report.decisions[spec.name] = decision
        say(f"{spec.name}: {_summary(decision)}")
    changed = {name for name, d in report.decisions.items() if d.changed}
    if changed:
        services = await deployed_services(book, inventory.services, changed)
        report.deploy = await deploy(dataclasses.replace(inventory, services=services), store=store, pool=pool,
                                     only=changed, locked=True, say=say)
    return report


async def _decide(store: Store, book: RevisionBook, ns: str, spec: Service, usage: ClusterUsage) -> Decision:
    key = f"{ns}/services/{spec.name}/autoscale"
    entry = await store.get(key)
    kept = json.loads(entry.value) if entry else {}
    history = [Recommendation(t, n) for t, n in kept.get("recommendations", [])]
    current, now = await book.replicas_for(spec), time.time()
    decision = decide(spec.autoscale, current, utilization(spec, usage, current), history, now)
    if decision.recommendation is not None:
        history = kept_history(spec.autoscale, [*history, Recommendation(now, decision.recommendation)], now)
    record = {"recommendations": [[r.time, r.replicas] for r in history],
              "last": {"time": now, **dataclasses.asdict(decision)}}
    await store.put(key, json.dumps(record).encode())
    if decision.changed:
        await book.set_scale(spec.name, decision.desired, spec.replicas)
    await EventLog(store, ns).add("autoscale", f"{spec.name}: {_summary(decision)}", service=spec.name,
                                  **{"from": decision.current, "to": decision.desired})
    return decision


def utilization(spec: Service, usage: ClusterUsage, current: int) -> dict[str, list[float | None]]:
    """Per replica 1..current, CPU in % of the service's cpus (one CPU when unset), memory in % of its limit."""
    by_replica: dict[int, ContainerUsage] = {}
    for host in usage.hosts.values():
        for c in host.containers:
            if c.service == spec.name and c.replica and c.state == "running" and (
                    c.replica not in by_replica or by_replica[c.replica].cpu is None):
                by_replica[c.replica] = c
    per_cpu = spec.resources.cpus or 1.0
    replicas = [by_replica.get(n) for n in range(1, current + 1)]
    return {"cpu": [c.cpu / per_cpu if c and c.cpu is not None else None for c in replicas],
            "memory": [c.memory_percent if c else None for c in replicas]}


def _summary(decision: Decision) -> str:
    move = (f"{decision.current} → {decision.desired}" if decision.changed else f"stays at {decision.current}")
    return f"{move} ({decision.reason})"
