"""`kob deploy`: lock, observe, plan, roll out, switch the load balancer, record, recap."""

from __future__ import annotations

import asyncio
import dataclasses
from collections import Counter
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from typing import Callable

from kob.deploy.balancer import balancer_for, final_lb_config
from kob.deploy.desired import desired_service
from kob.deploy.events import EventLog
from kob.deploy.images import manager_image_ids, missing_images, ship_images
from kob.deploy.observe import ClusterObservation, observe_cluster
from kob.deploy.revisions import RevisionBook
from kob.errors import KobError
from kob.identity import deploy_lock, namespace
from kob.deploy.rollout import Rollout, RolloutFailed
from kob.plan.actions import render_plan
from kob.plan.diff import DesiredService, Plan, diff
from kob.plan.preflight import image_sources, port_clashes, unplaceable
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
    """What a deploy may touch: ``only`` those services (None: all); replicas on ``avoid`` hosts lose ties."""

    only: set[str] | None = None
    avoid: frozenset[str] = frozenset()


async def deploy(inventory: Inventory, *, store: Store, pool: Transport, check: bool = False, diff_lb: bool = False,
                 wait: float = 0, say: Callable[[str], None] = print, only: set[str] | None = None,
                 seen: ClusterObservation | None = None, locked: bool = False,
                 avoid: frozenset[str] = frozenset()) -> DeployReport:
    """Converge the inventory's services (or ``only`` those) and its load balancer.

    ``check``: print the plan, change nothing; ``diff_lb``: also print each HAProxy config diff.
    ``locked``: the caller holds deploy_lock; ``seen``: an observation just made with ``pool``.
    ``store`` and ``pool`` are the caller's, who closes them.
    """
    async with AsyncExitStack() as stack:
        guard = _unguarded
        if not (check or locked):
            lock = await stack.enter_async_context(deploy_lock(store, inventory, wait))
            guard = lambda: require_held(lock)
        book = RevisionBook(store, namespace(inventory))
        counted_before = Counter(pool.exec_count)
        report = await _converge(inventory, pool, store, book, check, diff_lb, say, Scope(only, avoid), seen, guard)
        report.exec_count = Counter(pool.exec_count) - counted_before
        return report


def _unguarded() -> None:
    """A deploy whose caller holds the lock (or a --check) checks nothing between steps."""


async def _converge(inventory, pool, store, book, check, diff_lb, say, scope: Scope, seen,
                    guard=_unguarded) -> DeployReport:
    images = [spec.image for spec in inventory.services]
    if seen is None:
        seen, on_manager = await asyncio.gather(observe_cluster(pool, inventory), manager_image_ids(images))
    else:
        on_manager = await manager_image_ids(images)
    for host, why in seen.unreachable.items():
        say(f"! {why}")
    only = scope.only
    wants = [await desired_service(inventory, spec, book, set(seen.hosts))
             for spec in inventory.services if only is None or spec.name in only]
    wants, sources = _preflight(inventory, wants, seen, on_manager, say)
    plan = diff(wants, _restricted(seen, only), [h.name for h in inventory.hosts], avoid=scope.avoid)
    report = DeployReport(plan, seen)
    say(render_plan(plan.actions).rstrip("\n"))
    for warning in plan.warnings:
        say(f"! {warning}")
    balancer = balancer_for(pool, inventory, seen)
    if check or diff_lb:
        preview = await balancer.preview(final_lb_config(inventory, seen, plan, wants), diff_lb)
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
    if plan.actions:
        missing = missing_images(plan, wants, seen, sources)
        if missing:
            report.sent = await ship_images(pool, inventory, seen, missing, say)
        await balancer.prepare(seen)
        rollout = Rollout(pool, inventory, balancer, say, guard)
        await _roll(rollout, plan, wants, book, store, inventory, seen, say, report)
        report.changed, report.outcome = rollout.changed, rollout.outcome
        seen = await observe_cluster(pool, inventory)
    report.lb = await balancer.finish(seen)
    return report


def _preflight(inventory, wants, seen, on_manager, say) -> tuple[list[DesiredService], dict]:
    """Refuse, before touching any host, what cannot work; pin each service to its image's ID."""
    sources, problems = image_sources(wants, seen.hosts, on_manager)
    problems += unplaceable(wants, seen.unreachable) + port_clashes(inventory.lb, seen.hosts)
    for problem in problems:
        say(f"! {problem}")
    if problems:
        raise KobError(problems[0] if len(problems) == 1 else
                       f"{len(problems)} problems (above); nothing was changed")
    pinned = [dataclasses.replace(w, image_id=sources[w.service.image].image_id) if w.service.image in sources
              else w for w in wants]
    return pinned, sources


def _restricted(seen: ClusterObservation, only: set[str] | None) -> dict:
    """The observation limited to some services, so that others are left as they are."""
    if only is None:
        return seen.hosts
    return {host: dataclasses.replace(o, containers=tuple(c for c in o.containers if c.service in only))
            for host, o in seen.hosts.items()}


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
    seen, on_manager = await asyncio.gather(observe_cluster(rollout.pool, inventory),
                                            manager_image_ids([target.spec.image]))
    want = await desired_service(inventory, target.spec, book, set(seen.hosts), failed.replicas)
    (want,), sources = _preflight(inventory, [want], seen, on_manager, say)
    plan = diff([want], seen.hosts, [h.name for h in inventory.hosts])
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
