"""One self-healing pass: bring every deployed service back to what it was deployed as.

A replica that exited or is unhealthy is replaced (the plan's replace). A host that has
not answered for ``heal.down_after`` is marked down and its replicas are started on the
other hosts; until then, services that ran there wait. When a down host answers again,
duplicate replicas on it are the ones removed. Every action is an event with its reason.
"""

from __future__ import annotations

import dataclasses
from typing import Callable

from kob.deploy.host_health import HostMarks, note_hosts, waiting_services
from kob.deploy.converge import DeployReport, deploy
from kob.identity import namespace, owner
from kob.deploy.observe import ClusterObservation, observe_cluster
from kob.deploy.events import EventLog
from kob.plan.actions import Create
from kob.deploy.revisions import RevisionBook, deployed_services
from kob.spec.inventory import Inventory
from kob.store.base import Store
from kob.transport.base import Transport


@dataclasses.dataclass
class ReconcileReport:
    marks: HostMarks
    waiting: dict[str, str] = dataclasses.field(default_factory=dict)  # service → why it was left alone
    deploy: DeployReport | None = None


async def reconcile_pass(inventory: Inventory, store: Store, pool: Transport,
                         say: Callable[[str], None] = print, seen: ClusterObservation | None = None) -> ReconcileReport:
    """The caller holds the deploy lock (kob.identity.deploy_lock); ``seen``: an observation it just made."""
    ns = namespace(inventory)
    if seen is None:
        seen = await observe_cluster(pool, inventory, await owner(store, inventory))
    marks = await note_hosts(store, ns, seen, inventory.control.down_after, say)
    events = EventLog(store, ns)
    report = ReconcileReport(marks, waiting_services(marks, inventory.control.down_after))
    book = RevisionBook(store, ns)
    names = {s.name for s in inventory.services if await book.current(s.name)} - set(report.waiting)
    for service, why in report.waiting.items():
        say(f"{service}: waiting: {why}")
    if not names:
        return report
    services = await deployed_services(book, inventory.services, names)
    report.deploy = await deploy(dataclasses.replace(inventory, services=services), store=store, pool=pool,
                                 only=names, locked=True, seen=seen, avoid=frozenset(marks.back), say=say)
    await _action_events(events, report.deploy, marks)
    return report


async def _action_events(events: EventLog, report: DeployReport, marks: HostMarks) -> None:
    context = f" (down: {', '.join(sorted(marks.down))})" if marks.down else ""
    for action in report.plan.actions:
        where = context if isinstance(action, Create) else ""
        await events.add("heal", action.describe() + where, service=action.service)
    if report.failure:
        await events.add("heal-failed", report.failure)
