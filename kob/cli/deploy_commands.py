"""`kob deploy | status | scale | rollback | history`: services across the inventory's hosts."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time

import click

from kob.deploy.converge import DeployReport, deploy
from kob.identity import namespace
from kob.deploy.logs import service_logs
from kob.deploy.observe import observe_cluster
from kob.deploy.events import EventLog
from kob.deploy.revisions import RevisionBook, deployed_services
from kob.deploy.status import render_status, service_statuses
from kob.errors import KobError
from kob.spec.inventory import Inventory, load_inventory
from kob.store import open_store
from kob.transport.ssh import SshPool

INVENTORY = click.argument("inventory", type=click.Path())


@click.command("deploy")
@INVENTORY
@click.option("--check", is_flag=True, help="Print the plan only; change nothing.")
@click.option("--diff", "diff_lb", is_flag=True, help="Also show each HAProxy config diff.")
@click.option("--wait", type=float, default=0, help="Seconds to wait for another deploy's lock.")
@click.pass_context
def deploy_command(ctx: click.Context, inventory: str, check: bool, diff_lb: bool, wait: float) -> None:
    """Converge every service of the inventory (rolling, health-checked)."""
    inv = load_inventory(inventory)
    report = asyncio.run(deploy(inv, check=check, diff_lb=diff_lb, wait=wait, say=click.echo))
    finish_deploy(ctx, report)


def finish_deploy(ctx: click.Context, report: DeployReport, unreachable_is_error: bool = True) -> None:
    _recap(report)
    if ctx.obj and ctx.obj.get("verbose"):
        counts = ", ".join(f"{host} {n}" for host, n in sorted(report.exec_count.items()))
        click.echo(f"ssh commands: {sum(report.exec_count.values())} ({counts})")
    if report.failure:
        raise KobError(report.failure)
    if report.observation.unreachable and unreachable_is_error:
        raise SystemExit(2)


def _recap(report: DeployReport) -> None:
    if not (report.changed or report.lb or report.outcome):
        return
    click.echo("RECAP")
    for host in report.observation.hosts:
        changed, lb, sent = report.changed.get(host, 0), report.lb.get(host), report.sent.get(host)
        click.echo(f"  {host:<10} {'changed=' + str(changed) if changed else 'ok'}"
                   + (f"  images {sent / 1e6:.1f} MB" if sent else "") + (f"  haproxy {lb}" if lb else ""))
    for host in report.observation.unreachable:
        click.echo(f"  {host:<10} unreachable")
    for service, counts in sorted(report.outcome.items()):
        done = ", ".join(f"{kind}={counts[kind]}" for kind in ("created", "replaced", "removed") if counts[kind])
        rolled = "  rolled back" if service in report.rolled_back else ""
        click.echo(f"  {service:<10} {done or 'ok'}{rolled}")


@click.command("status")
@INVENTORY
@click.option("--json", "as_json", is_flag=True, help="One JSON document.")
def status_command(inventory: str, as_json: bool) -> None:
    """Desired, running and healthy replicas per service, and where they run."""
    inv = load_inventory(inventory)

    async def gather():
        async with open_store(inv.state_url) as store, SshPool() as pool:
            seen = await observe_cluster(pool, inv)
            return await service_statuses(inv, seen, RevisionBook(store, namespace(inv))), seen

    statuses, seen = asyncio.run(gather())
    if as_json:
        click.echo(json.dumps({"services": [s.as_json() for s in statuses], "unreachable": seen.unreachable}))
    else:
        click.echo(render_status(statuses, seen))


@click.command("scale")
@INVENTORY
@click.argument("counts", nargs=-1, required=True)
@click.option("--wait", type=float, default=0, help="Seconds to wait for another deploy's lock.")
@click.pass_context
def scale_command(ctx: click.Context, inventory: str, counts: tuple[str, ...], wait: float) -> None:
    """Set replica counts (web=5 ...), kept until the inventory's own count changes."""
    inv = load_inventory(inventory)
    wanted = dict(_count(inv, text) for text in counts)

    async def run():
        async with open_store(inv.state_url) as store:
            book = RevisionBook(store, namespace(inv))
            for name, count in wanted.items():
                await book.set_scale(name, count, inv.service(name).replicas)
                await EventLog(store, namespace(inv)).add("scale", f"{name}: scaled to {count}", service=name)
            inv_now = dataclasses.replace(inv, services=await deployed_services(book, inv.services, set(wanted)))
            return await deploy(inv_now, wait=wait, say=click.echo, store=store, only=set(wanted))

    finish_deploy(ctx, asyncio.run(run()))


def _count(inv: Inventory, text: str) -> tuple[str, int]:
    name, sep, number = text.partition("=")
    if not sep or not number.isdigit():
        raise click.BadParameter(f"{text!r}: write SERVICE=COUNT, e.g. web=5")
    autoscale = inv.service(name).autoscale
    if autoscale and autoscale.clamp(int(number)) != int(number):
        raise KobError(f"{name} autoscales between {autoscale.min} and {autoscale.max} ({inv.path}:"
                       f"{inv.service(name).line}); {number} is outside")
    return name, int(number)


@click.command("history")
@INVENTORY
@click.argument("service")
def history_command(inventory: str, service: str) -> None:
    """The revisions of a service: who deployed what, when."""
    inv = load_inventory(inventory)
    inv.service(service)

    async def run():
        async with open_store(inv.state_url) as store:
            return await RevisionBook(store, namespace(inv)).history(service)

    for r in asyncio.run(run()):
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(r.when))
        click.echo(f"{r.number:>4}  {when}  {r.spec.image:<28} {r.who:<24} {r.reason}")


@click.command("rollback")
@INVENTORY
@click.argument("service")
@click.option("--to", "to_revision", type=int, help="Revision number (default: the one before the current).")
@click.option("--wait", type=float, default=0, help="Seconds to wait for another deploy's lock.")
@click.pass_context
def rollback_command(ctx: click.Context, inventory: str, service: str, to_revision: int | None, wait: float) -> None:
    """Deploy an earlier revision of a service."""
    inv = load_inventory(inventory)
    inv.service(service)

    async def run():
        async with open_store(inv.state_url) as store:
            book = RevisionBook(store, namespace(inv))
            history = await book.history(service)
            if to_revision is None and len(history) < 2:
                raise KobError(f"{service} has no earlier revision to roll back to")
            target = await book.get(service, to_revision or history[-2].number)
            click.echo(f"rolling {service} back to revision {target.number} ({target.spec.image})")
            spec = dataclasses.replace(target.spec, replicas=inv.service(service).replicas)
            services = tuple(spec if s.name == service else s for s in inv.services)
            return await deploy(dataclasses.replace(inv, services=services), wait=wait, say=click.echo, store=store,
                                only={service})

    finish_deploy(ctx, asyncio.run(run()))


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
    inv = load_inventory(inventory)
    inv.service(service)

    async def run():
        async with SshPool() as pool:
            await service_logs(pool, inv, service, click.echo, tail=tail, since=since, follow=follow,
                               timestamps=timestamps)

    try:
        asyncio.run(run())
    except KeyboardInterrupt:
        pass
