"""`kob top | autoscale | reconcile | events`: watch the cluster and keep it as wanted."""

from __future__ import annotations

import json
import time

import click

from kob.cli.colour import say
from kob.cli.options import INVENTORY, JSON, WAIT
from kob.cli.recap import finish_deploy
from kob.cli.runner import run_with


@click.command("top")
@INVENTORY
@JSON
def top_command(inventory: str, as_json: bool) -> None:
    """CPU, load, memory and disk per host; CPU, memory and restarts per container."""
    from kob.identity import namespace, owner
    from kob.metrics.history import MetricsBook
    from kob.metrics.sampler import sample_cluster
    from kob.metrics.top import render_top
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    async def sample(store, pool):
        return await sample_cluster(pool, inv, MetricsBook(store, namespace(inv), inv.control.retention),
                                    await owner(store, inv))

    usage = run_with(inv, sample)
    if as_json:
        click.echo(json.dumps({"hosts": {h: u.to_dict() for h, u in usage.hosts.items()},
                               "unreachable": usage.unreachable}))
    else:
        click.echo(render_top(usage.hosts, usage.unreachable))
    if usage.unreachable:
        raise SystemExit(2)


def _one_pass(ctx: click.Context, inventory: str, wait: float, one_pass, unreachable_is_error: bool):
    """Run ``one_pass(inventory, store, pool, say)`` under the deploy lock; the recap of what it deployed;
    its report."""
    from kob.identity import deploy_lock
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)

    async def locked(store, pool):
        async with deploy_lock(store, inv, wait):
            return await one_pass(inv, store, pool, say=say)

    report = run_with(inv, locked)
    if report.deploy:
        finish_deploy(ctx, report.deploy, unreachable_is_error=unreachable_is_error)
    return report


@click.command("autoscale")
@INVENTORY
@WAIT
@click.pass_context
def autoscale_command(ctx: click.Context, inventory: str, wait: float) -> None:
    """One pass: sample, decide each autoscaled service's count, converge what changed. Exit code 2 when
    a host did not answer."""
    from kob.passes.autoscale import autoscale_pass

    if _one_pass(ctx, inventory, wait, autoscale_pass, unreachable_is_error=True).usage.unreachable:
        raise SystemExit(2)


@click.command("reconcile")
@INVENTORY
@WAIT
@click.pass_context
def reconcile_command(ctx: click.Context, inventory: str, wait: float) -> None:
    """One pass: replace what died, move replicas off hosts that are down, drop duplicates. A host that
    does not answer is waited for, then its replicas move: that is this pass's work, so exit code 0."""
    from kob.passes.reconcile import reconcile_pass

    _one_pass(ctx, inventory, wait, reconcile_pass, unreachable_is_error=False)


@click.command("events")
@INVENTORY
@click.option("-n", "--limit", type=click.IntRange(min=1), default=30, show_default=True, help="How many.")
@click.option("--kind", "kinds", multiple=True, help="Only these kinds (deploy, autoscale, heal, host-down ...).")
@JSON
def events_command(inventory: str, limit: int, kinds: tuple[str, ...], as_json: bool) -> None:
    """The inventory's recent events: deploys, scaling decisions, heals, hosts down and back."""
    from kob.deploy.events import EventLog
    from kob.identity import namespace
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    events = run_with(inv, lambda store, _: EventLog(store, namespace(inv)).recent(limit, set(kinds) or None),
                      transport=False)
    if as_json:  # oldest first, as printed; the same keys as the page's /api/v1/ events
        click.echo(json.dumps([{"seq": e.seq, "time": e.time, "kind": e.kind, "message": e.message,
                                "service": e.fields.get("service")} for e in events]))
        return
    for event in events:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(event.time))
        click.echo(f"{when}  {event.kind:<14} {event.message}")
