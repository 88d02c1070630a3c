"""`kob deploy | adopt | down | status | scale | rollback | history | logs`: services across the inventory's hosts."""

from __future__ import annotations

import json
import re
import time

import click

from kob.cli.colour import say
from kob.cli.options import INVENTORY, JSON, WAIT, Seconds
from kob.cli.recap import finish_deploy
from kob.cli.runner import run_with


@click.command("deploy")
@INVENTORY
@click.option("--check", is_flag=True, help="Print the plan only; change nothing.")
@click.option("--diff", "diff_lb", is_flag=True, help="Also show each HAProxy config diff.")
@WAIT
@click.pass_context
def deploy_command(ctx: click.Context, inventory: str, check: bool, diff_lb: bool, wait: float) -> None:
    """Converge every service of the inventory (rolling, health-checked)."""
    _deploy(ctx, inventory, check=check, diff_lb=diff_lb, wait=wait, adopt=False)


@click.command("adopt")
@INVENTORY
@WAIT
@click.pass_context
def adopt_command(ctx: click.Context, inventory: str, wait: float) -> None:
    """Take over what an earlier kob started without owner labels: replace the containers of this
    inventory's services (rolling) and its HAProxy on the lb hosts. Containers of other services stay."""
    _deploy(ctx, inventory, check=False, diff_lb=False, wait=wait, adopt=True)


def _deploy(ctx: click.Context, inventory: str, **options) -> None:
    """Deploy: by the inventory's connection holder when one runs this kob and lends deploys (it has the deploy
    code loaded, the connections and the store open, and reads and checks the whole inventory), else here;
    then the recap."""
    from kob.spec.inventory import load_inventory

    summary = _deployed_by_holder(load_inventory(inventory, workloads=False), options)
    if summary is None:
        from kob.deploy.converge import deploy

        inv = load_inventory(inventory)
        summary = run_with(inv, lambda store, pool: deploy(inv, say=say, store=store, pool=pool, **options))
    finish_deploy(ctx, summary)


def _deployed_by_holder(inv, options: dict):
    from kob.cli.runner import live_holder
    from kob.lend.deploys import deploy_through, holder_deploys

    holder = live_holder(inv)
    if not holder_deploys(holder):
        return None
    import os

    from kob.deploy.transfer_progress import process_sink

    request = {"inventory": os.path.abspath(inv.path), "shown_as": str(inv.path), **options}
    return deploy_through(holder, request, say, process_sink())


@click.command("down")
@INVENTORY
@WAIT
def down_command(inventory: str, wait: float) -> None:
    """Remove every container of the inventory's services and stop its HAProxy; the store keeps the
    revisions, so `kob deploy` brings them back. Nothing of other inventories or people is touched."""
    from kob.deploy.teardown import take_down
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    report = run_with(inv, lambda store, pool: take_down(inv, store, pool, say, wait))
    if report.observation.unreachable:
        raise SystemExit(2)


@click.command("status")
@INVENTORY
@JSON
@click.option("-w", "--watch", is_flag=True, help="Observe again every --interval seconds and redraw; Ctrl-C ends.")
@click.option("--interval", type=Seconds(min=0.5, max=3600), default=2.0, show_default=True, metavar="S",
              help="Seconds between rounds with -w.")
@click.option("--rounds", type=click.IntRange(min=1, max=10**6), metavar="N",
              help="With -w: stop after N rounds (default: until Ctrl-C).")
def status_command(inventory: str, as_json: bool, watch: bool, interval: float, rounds: int | None) -> None:
    """Desired, running and healthy replicas per service, and where they run. Exit code 2 when a host
    did not answer."""
    import asyncio
    import sys

    from kob.deploy.cert_status import certificate_statuses, render_certificates
    from kob.deploy.observe import observe_cluster
    from kob.deploy.revisions import RevisionBook
    from kob.deploy.status import render_status, service_statuses
    from kob.identity import namespace, owner
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    redraw = watch and not as_json and sys.stdout.isatty()

    def show(statuses, seen, round_number: int) -> None:
        certs = certificate_statuses(inv, seen)
        if as_json:
            click.echo(json.dumps({"services": [s.as_json() for s in statuses], "unreachable": seen.unreachable,
                                   "certificates": [c.as_json() for c in certs]}))
            return
        if watch:
            if redraw:
                click.clear()
            elif round_number > 1:
                click.echo()
            click.echo(f"kob status {inventory}  every {interval:g} s  {time.strftime('%Y-%m-%d %H:%M:%S')}")
        click.echo(render_status(statuses, seen))
        if certs:
            click.echo(render_certificates(certs))

    async def observe(store, pool):
        book, label = RevisionBook(store, namespace(inv)), await owner(store, inv)
        round_number = 0
        while True:  # one round without -w; with it, until --rounds or Ctrl-C, on the same connections
            round_number += 1
            seen = await observe_cluster(pool, inv, label)
            show(await service_statuses(inv, seen, book), seen, round_number)
            if not watch or round_number == rounds:
                return seen
            await asyncio.sleep(interval)

    try:
        seen = run_with(inv, observe)
    except KeyboardInterrupt:  # the end of -w: the transport and the store were closed on the way out
        return
    if seen.unreachable:
        raise SystemExit(2)


@click.command("scale")
@INVENTORY
@click.argument("counts", nargs=-1, required=True)
@WAIT
@click.pass_context
def scale_command(ctx: click.Context, inventory: str, counts: tuple[str, ...], wait: float) -> None:
    """Set replica counts (web=5 ...), kept until the inventory's own count changes."""
    from kob.deploy.scaling import checked_count, scale
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    wanted = {name: checked_count(inv, name, count) for name, count in map(_count, counts)}
    finish_deploy(ctx, run_with(inv, lambda store, pool: scale(inv, wanted, store, pool, wait=wait, say=say)))


def _count(text: str) -> tuple[str, int]:
    """SERVICE=COUNT."""
    name, sep, number = text.partition("=")
    if not sep or not re.fullmatch(r"[0-9]+", number):
        raise click.BadParameter(f"{text!r}: write SERVICE=COUNT, e.g. web=5")
    return name, int(number) if len(number) <= 18 else 10 ** 18  # any such count is refused as too many


@click.command("history")
@INVENTORY
@click.argument("service")
@JSON
def history_command(inventory: str, service: str, as_json: bool) -> None:
    """The revisions of a service: who deployed what, when."""
    from kob.deploy.revisions import RevisionBook
    from kob.identity import namespace
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    inv.service(service)
    revisions = run_with(inv, lambda store, _: RevisionBook(store, namespace(inv)).history(service), transport=False)
    if as_json:  # never the spec itself: its env values stay out of what kob prints
        click.echo(json.dumps([{"revision": r.number, "time": r.when, "image": r.spec.image, "who": r.who,
                                "reason": r.reason, "spec_hash": r.spec_hash} for r in revisions]))
        return
    for r in revisions:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.when))
        click.echo(f"{r.number:>4}  {when}  {r.spec.image:<28} {r.who:<24} {r.reason}")


@click.command("rollback")
@INVENTORY
@click.argument("service")
@click.option("--to", "to_revision", type=int, help="Revision number (default: the one before the current).")
@WAIT
@click.pass_context
def rollback_command(ctx: click.Context, inventory: str, service: str, to_revision: int | None, wait: float) -> None:
    """Deploy an earlier revision of a service."""
    from kob.deploy.scaling import rollback
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    inv.service(service)
    finish_deploy(ctx, run_with(inv, lambda store, pool: rollback(inv, service, to_revision, store, pool, wait=wait,
                                                                  say=say)))


@click.command("logs")
@INVENTORY
@click.argument("service")
@click.option("-f", "--follow", is_flag=True, help="Keep printing new lines (Ctrl-C stops).")
@click.option("--since", metavar="WHEN", help="Only lines newer than this: 10m, 2h, or a timestamp.")
@click.option("--tail", type=click.IntRange(min=0), metavar="N", help="The last N lines of each replica.")
@click.option("-t", "--timestamps", is_flag=True, help="Show each line's time.")
def logs_command(inventory: str, service: str, follow: bool, since: str | None, tail: int | None,
                 timestamps: bool) -> None:
    """The logs of every replica of a service, merged, prefixed with replica and host."""
    from kob.deploy.logs import service_logs
    from kob.identity import owner
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    inv.service(service)

    async def logs(store, pool):
        await service_logs(pool, inv, service, click.echo, owner=await owner(store, inv), tail=tail, since=since,
                           follow=follow, timestamps=timestamps)

    try:
        run_with(inv, logs)
    except KeyboardInterrupt:
        pass
