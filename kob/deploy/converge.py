"""`kob deploy`: lock, observe, plan, roll out, switch the load balancer, record, recap."""

from __future__ import annotations

import asyncio
import dataclasses
import time
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Callable

from kob.commands.haproxy import haproxy_template
from kob.deploy.adopt import adopted
from kob.deploy.balancer import balancer_for, final_lb_config
from kob.deploy.desired import desired_service
from kob.deploy.events import EventLog
from kob.deploy.host_health import note_hosts, waiting_services
from kob.deploy.images import manager_image_ids, missing_images, ship_images
from kob.deploy.observe import ClusterObservation, observe_cluster
from kob.deploy.revisions import RevisionBook
from kob.errors import KobError
from kob.identity import deploy_lock, namespace, owner
from kob.deploy.rollout import Rollout, RolloutFailed
from kob.plan.actions import render_plan
from kob.plan.diff import DesiredService, Plan, diff
from kob.plan.preflight import expired_certificates, image_sources, port_clashes, unplaceable
from kob.spec.inventory import Inventory
from kob.store.backend import require_held
from kob.store.base import Store
from kob.transport.base import Transport

@dataclass
class DeployReport:
    plan: Plan
    observation: ClusterObservation
    changed: dict[str, int] = field(default_factory=dict)
    lb: dict[str, str] = field(default_factory=dict)
    exec_count: Counter = field(default_factory=Counter)
    failure: str | None = None
    rolled_back: list[str] = field(default_factory=list)
    sent: dict[str, int] = field(default_factory=dict)  # host → image bytes streamed to it
    outcome: dict[str, Counter] = field(default_factory=dict)  # service → created / replaced / removed


@dataclass(frozen=True)
class Scope:
    """What a deploy may touch: ``only`` those services (None: all); replicas on ``avoid`` hosts lose ties;
    ``adopt``: also what an earlier kob left without owner labels (see kob.deploy.adopt)."""

    only: set[str] | None = None
    avoid: frozenset[str] = frozenset()
    adopt: bool = False


async def deploy(inventory: Inventory, *, store: Store, pool: Transport, check: bool = False, diff_lb: bool = False,
                 wait: float = 0, say: Callable[[str], None] = print, only: set[str] | None = None,
                 seen: ClusterObservation | None = None, locked: bool = False,
                 avoid: frozenset[str] = frozenset(), adopt: bool = False) -> DeployReport:
    """Converge the inventory's services (or ``only`` those) and its load balancer.

    ``check``: print the plan, change nothing; ``diff_lb``: also print each HAProxy config diff.
    ``locked``: the caller holds deploy_lock; ``seen``: an observation just made with ``pool``.
    ``adopt``: replace the containers an earlier kob started for these services, and its HAProxy.
    ``store`` and ``pool`` are the caller's, who closes them.
    """
    async with AsyncExitStack() as stack:
        guard = _unguarded
        if not (check or locked):
            lock = await stack.enter_async_context(deploy_lock(store, inventory, wait))
            guard = lambda: require_held(lock)
        book = RevisionBook(store, namespace(inventory))
        counted_before = Counter(pool.exec_count)
        report = await _converge(inventory, pool, store, book, check, diff_lb, say, Scope(only, avoid, adopt), seen,
                                 guard)
        report.exec_count = Counter(pool.exec_count) - counted_before
        return report


async def _compile_lb_template(inventory: Inventory) -> None:
    """Compile the HAProxy template in a thread while the hosts answer: the load balancer step needs it, and
    a no-op deploy is otherwise mostly waiting (the event loop still gets its turns: Python switches threads
    every few milliseconds)."""
    if inventory.lb is not None:
        await asyncio.to_thread(haproxy_template)


def _unguarded() -> None:
    """A deploy whose caller holds the lock (or a --check) checks nothing between steps."""


async def _converge(inventory, pool, store, book, check, diff_lb, say, scope: Scope, seen,
                    guard=_unguarded) -> DeployReport:
    images = [spec.image for spec in inventory.services]
    me = await owner(store, inventory)
    only = scope.only
    if seen is None:
        seen, on_manager, _ = await asyncio.gather(observe_cluster(pool, inventory, me), manager_image_ids(images),
                                                   _compile_lb_template(inventory))
        only = await _without_waiting(inventory, store, seen, only, say, record=not check)
    else:
        on_manager = await manager_image_ids(images)
    for host, why in seen.unreachable.items():
        say(f"! {why}")
    if scope.adopt:
        seen = adopted(seen, {spec.name for spec in inventory.services})
    say_legacy(seen, say)
    wants = [await desired_service(inventory, spec, book, set(seen.hosts), me)
             for spec in inventory.services if only is None or spec.name in only]
    wants, sources = _preflight(inventory, wants, seen, on_manager, say)
    plan = diff(wants, seen.hosts, [h.name for h in inventory.hosts], avoid=scope.avoid, scoped=only is not None)
    report = DeployReport(plan, seen)
    say(render_plan(plan.actions).rstrip("\n"))
    for warning in plan.warnings:
        say(f"! {warning}")
    balancer = balancer_for(pool, inventory, seen, me)
    if check or diff_lb:
        preview = await balancer.preview(final_lb_config(inventory, seen, plan, wants, me), diff_lb)
        for host, step in preview.items():
            say(f"haproxy on {host}: {step}")
        if check:
            report.lb = {host: step.partition("\n")[0] for host, step in preview.items()}
            return report
    fresh = [want for want in wants if want.revision > ((await book.current(want.service.name)) or _NoRevision).number]
    recorded = await book.record_all([(want.service, want.spec_hash) for want in fresh], "deploy")  # all or none
    for want, revision in zip(fresh, recorded):
        await EventLog(store, namespace(inventory)).add("deploy", f"{want.service.name}: revision {revision.number} "
                                 f"({want.service.image}) by {revision.who}", service=want.service.name)
    if plan.actions or scope.adopt:
        missing = missing_images(plan, wants, seen, sources)
        if missing:
            report.sent = await ship_images(pool, inventory, seen, missing, say)
        await balancer.prepare(seen)
        if scope.adopt:
            await balancer.retire_legacy()
        rollout = Rollout(pool, inventory, balancer, say, guard)
        await _roll(rollout, plan, wants, book, store, inventory, seen, say, report)
        report.changed, report.outcome = rollout.changed, rollout.outcome
        seen = await observe_cluster(pool, inventory, me)
    report.lb = await balancer.finish(seen)
    return report


def _preflight(inventory, wants, seen, on_manager, say) -> tuple[list[DesiredService], dict]:
    """Refuse, before touching any host, what cannot work; pin each service to its image's ID."""
    sources, problems = image_sources(wants, seen.hosts, on_manager)
    problems += unplaceable(wants, seen.unreachable) + port_clashes(inventory.lb, seen.hosts)
    problems += expired_certificates(inventory.lb, time.time())
    for problem in problems:
        say(f"! {problem}")
    if problems:
        raise KobError(problems[0] if len(problems) == 1 else
                       f"{len(problems)} problems (above); nothing was changed")
    pinned = [dataclasses.replace(w, image_id=sources[w.service.image].image_id) if w.service.image in sources
              else w for w in wants]
    return pinned, sources


class _NoRevision:
    number = 0


async def _roll(rollout, plan, wants, book, store, inventory, seen, say, report) -> None:
    by_service: dict[str, list] = {}
    for action in plan.actions:
        by_service.setdefault(action.service, []).append(action)
    wanted = {w.service.name: w for w in wants}
    for name, actions in by_service.items():
        want = wanted.get(name)
        if want is None:
            await rollout.run_service(_orphan(name, actions), actions)
            continue
        try:
            await rollout.run_service(want, actions)
        except RolloutFailed as failure:
            report.failure = str(failure)
            await EventLog(store, namespace(inventory)).add("rollout-failed", str(failure), service=name)
            say(f"! {failure}")
            if want.service.update.failure_action == "rollback":
                await _rollback(rollout, want, book, store, inventory, say, report)
            return  # later services wait for the next deploy


async def _without_waiting(inventory, store, seen: ClusterObservation, only: set[str] | None,
                           say: Callable[[str], None], record: bool) -> set[str] | None:
    """The rule reconcile follows, for deploys: services that ran on a host that stopped answering wait
    until it is down (heal.down_after); ``only`` without them."""
    if not seen.unreachable:
        return only
    marks = await note_hosts(store, namespace(inventory), seen, inventory.control.down_after, say, record)
    waiting = waiting_services(marks, inventory.control.down_after)
    for service, why in sorted(waiting.items()):
        if only is None or service in only:
            say(f"{service}: waiting: {why}")
    if not waiting:
        return only
    return (set(only) if only is not None else {s.name for s in inventory.services}) - set(waiting)


def say_legacy(seen: ClusterObservation, say: Callable[[str], None]) -> None:
    """Name the containers an earlier kob left without an owner label: kob leaves them alone until adopted."""
    legacy = {host: o.legacy for host, o in seen.hosts.items() if o.legacy}
    if legacy:
        where = ", ".join(f"{host} ({', '.join(c.name for c in found)})" for host, found in legacy.items())
        say(f"! containers of an earlier kob, without an owner label, are left alone: {where}; "
            "`kob adopt INVENTORY` replaces those of this inventory's services (see README)")


def _orphan(name: str, actions: list) -> DesiredService:
    from kob.spec.service_model import Service  # a stand-in for a service gone from the inventory

    return DesiredService(Service(name=name, image=""), 0, 0, "", ())


async def _rollback(rollout, failed: DesiredService, book, store, inventory, say, report) -> None:
    """Back to the last revision before the failed one, by itself."""
    previous = [r for r in await book.history(failed.service.name) if r.number < failed.revision]
    if not previous:
        say(f"! {failed.service.name}: no earlier revision to roll back to")
        return
    target = previous[-1]
    seen, on_manager = await asyncio.gather(observe_cluster(rollout.pool, inventory, failed.owner),
                                            manager_image_ids([target.spec.image]))
    want = await desired_service(inventory, target.spec, book, set(seen.hosts), failed.owner, failed.replicas)
    (want,), sources = _preflight(inventory, [want], seen, on_manager, say)
    plan = diff([want], seen.hosts, [h.name for h in inventory.hosts], scoped=True)
    missing = missing_images(plan, [want], seen, sources)
    if missing:
        await ship_images(rollout.pool, inventory, seen, missing, say)
    actions = [a for a in plan.actions if a.service == failed.service.name]
    say(f"rolling {failed.service.name} back to revision {target.number} ({target.spec.image})")
    await rollout.run_service(want, actions)
    revision = await book.record(target.spec, want.spec_hash, f"rollback from {failed.revision}")
    await EventLog(store, namespace(inventory)).add(
        "rollback", f"{failed.service.name}: back to revision {target.number} as {revision.number} after a failed "
        "rollout", service=failed.service.name)
    report.rolled_back.append(failed.service.name)
    report.failure = f"{report.failure}; rolled back to revision {target.number} ({target.spec.image})"
