"""The periodic passes together, as cron (and later `kob serve`) runs them: reconcile, then autoscale.

One store, one SSH pool and one hold of the deploy lock for both. A lock held by
another run means this run is skipped, not failed: passes never overlap. The
outcome is kept under ``kob/<inventory stem>/cron/last``.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from typing import Callable, Iterator

from kob.passes.autoscale import autoscale_pass
from kob.passes.reconcile import reconcile_pass
from kob.deploy.converge import DeployReport
from kob.deploy.observe import observe_and_sample
from kob.identity import deploy_lock, namespace, operator, owner
from kob.metrics.history import MetricsBook
from kob.metrics.sampler import sample_cluster
from kob.errors import KobError, LockHeld
from kob.jobs.dispatch import Dispatcher
from kob.spec.inventory import Inventory
from kob.store.base import Store
from kob.transport.base import Transport

EVENTS_KEPT = 5000


@dataclass(frozen=True)
class PassOutcome:
    time: float
    outcome: str  # ok | skipped | failed
    summary: str
    who: str
    durations: dict[str, float] = field(default_factory=dict)  # seconds per part: sample, reconcile, autoscale, jobs


async def passes_on(inventory: Inventory, store: Store, pool: Transport, *, reconcile: bool = True,
                    autoscale: bool = True, say: Callable[[str], None] = print, who: str | None = None) -> PassOutcome:
    """The passes on an open store and pool: `kob cron run` opens both for one run, `kob serve` keeps them."""
    started, who, durations = time.time(), who or operator(), {}
    try:
        async with deploy_lock(store, inventory):
            summary, failures = await _passes(inventory, store, pool, reconcile, autoscale, say, durations)
        outcome = PassOutcome(started, "failed" if failures else "ok", "; ".join([summary, *failures]), who, durations)
    except LockHeld as held:
        outcome = PassOutcome(started, "skipped", f"{held}; this run is skipped", who, durations)
    except KobError as error:
        outcome = PassOutcome(started, "failed", str(error), who, durations)
    await store.put(f"{namespace(inventory)}/cron/last", json.dumps(asdict(outcome)).encode())
    return outcome


def leader_lock_name(inventory: Inventory) -> str:
    """The lock whose holder is the one `kob serve` of an inventory that runs the passes."""
    return f"{namespace(inventory)}/leader"


async def last_outcome(store: Store, inventory: Inventory) -> PassOutcome | None:
    entry = await store.get(f"{namespace(inventory)}/cron/last")
    return PassOutcome(**json.loads(entry.value)) if entry else None  # an older kob's record has no durations


@contextmanager
def _timed(durations: dict[str, float], part: str) -> Iterator[None]:
    """Keep how long the block took under ``part`` (also when it raised)."""
    started = time.monotonic()
    try:
        yield
    finally:
        durations[part] = time.monotonic() - started


async def _passes(inventory, store, pool, reconcile, autoscale, say,
                  durations: dict[str, float]) -> tuple[str, list[str]]:
    """Reconcile, autoscale and jobs; the first two start from one SSH command per host that observes and samples
    (without autoscaling, reconcile observes by itself and there is no sample). The summary, and why the
    convergence of reconcile or autoscale failed (a new replica that did not become healthy): the pass
    still goes on, but it is not ok."""
    done, failures = [], []
    autoscaling = autoscale and any(s.autoscale for s in inventory.services)
    seen = usage = None
    if autoscaling:
        me, book = await owner(store, inventory), MetricsBook(store, namespace(inventory), inventory.control.retention)
        with _timed(durations, "sample"):
            if reconcile:
                seen, usage = await observe_and_sample(pool, inventory, me, book)
            else:
                usage = await sample_cluster(pool, inventory, book, me)
    if reconcile:
        with _timed(durations, "reconcile"):
            healed = await reconcile_pass(inventory, store, pool, say, seen)
        actions = len(healed.deploy.plan.actions) if healed.deploy else 0
        done.append(f"reconcile: {actions} action{'s' * (actions != 1)}"
                    + (f", {len(healed.marks.down)} host(s) down" if healed.marks.down else ""))
        failures += _failure("reconcile", healed.deploy)
    if autoscaling:
        with _timed(durations, "autoscale"):
            scaled = await autoscale_pass(inventory, store, pool, say, usage)
        moves = [f"{name} {d.current}→{d.desired}" for name, d in scaled.decisions.items() if d.changed]
        done.append(f"autoscale: {', '.join(moves) or 'no change'}")
        failures += _failure("autoscale", scaled.deploy)
    with _timed(durations, "jobs"):
        jobs = await _dispatch(inventory, store, pool, say)
    if jobs:
        done.append(jobs)
    await store.trim_events(EVENTS_KEPT)
    return "; ".join(done) or "nothing to do", failures


def _failure(part: str, report: DeployReport | None) -> list[str]:
    """``part``'s convergence failure as a summary item; none when it converged or did not need to."""
    return [f"{part} failed: {report.failure}"] if report and report.failure else []


async def _dispatch(inventory, store, pool, say) -> str | None:
    """One job dispatch pass, under the jobs lock; None when there was no job to run."""
    dispatcher = Dispatcher(inventory, store, pool, say)
    try:
        async with dispatcher.book.lock(operator()):
            report = await dispatcher.dispatch()
    except LockHeld:
        return "jobs: another dispatcher is running"
    return f"jobs: {report.summary()}" if report.started or report.ended or report.active else None
