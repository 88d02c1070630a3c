"""`kob cron install | remove | status | run`: the periodic passes from the system cron."""

from __future__ import annotations

import time
from pathlib import Path

import click

from kob.cli.options import INVENTORY
from kob.cli.runner import run_with
from kob.errors import KobError


@click.group("cron")
def cron() -> None:
    """Run reconcile and autoscale passes periodically from the system cron."""


@cron.command("install")
@INVENTORY
@click.option("--every", default="1m", show_default=True, help="1m..59m, 1h..23h or 1d.")
@click.option("--reconcile/--no-reconcile", default=True, help="Heal: restart, move off down hosts.")
@click.option("--autoscale/--no-autoscale", default=True, help="Autoscale services that have autoscale:.")
def install_command(inventory: str, every: str, reconcile: bool, autoscale: bool) -> None:
    """Write a cron.d entry that runs `kob cron run INVENTORY` every so often."""
    from kob.cron.entry import PASSES
    from kob.cron.install import START_CRON, cron_daemon, install, log_path
    from kob.spec.inventory import load_inventory

    load_inventory(inventory)  # refuse a broken inventory now, not in a log a minute later
    passes = tuple(name for name, on in zip(PASSES, (reconcile, autoscale)) if on)
    if not passes:
        raise KobError("nothing to run: keep --reconcile or --autoscale")
    path = install(Path(inventory), every, passes)
    click.echo(f"installed {path}: {' and '.join(passes)} every {every}; log {log_path(Path(inventory))}")
    if cron_daemon() is None:
        click.echo(f"! no cron daemon runs on this machine, so the entry will not run until one does; {START_CRON}",
                   err=True)


@cron.command("remove")
@INVENTORY
def remove_command(inventory: str) -> None:
    """Delete the inventory's cron.d entry."""
    from kob.cron.install import remove

    if remove(Path(inventory)):
        click.echo(f"removed the cron entry of {inventory}")
    else:
        click.echo(f"{inventory} had no cron entry")


@cron.command("status")
@INVENTORY
def status_command(inventory: str) -> None:
    """The entry, whether cron runs, the last pass and the end of its log."""
    from kob.cron.install import START_CRON, cron_state
    from kob.passes.periodic import last_outcome
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    state = cron_state(Path(inventory))
    click.echo(f"entry:  {state.entry}" + ("" if state.schedule_line else " (not installed)"))
    if state.schedule_line:
        click.echo(f"runs:   {state.schedule_line}")
    click.echo(f"cron:   {'running, pid ' + str(state.daemon_pid) if state.daemon_pid else 'NOT running; ' + START_CRON}")
    outcome = run_with(inv, lambda store, _: last_outcome(store, inv), transport=False)
    if outcome:
        when = time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(outcome.time))
        click.echo(f"last:   {when} {outcome.outcome}: {outcome.summary} ({outcome.who})")
    else:
        click.echo("last:   never ran")
    for line in state.log_tail:
        click.echo(f"  | {line}")


@cron.command("run")
@INVENTORY
@click.option("--reconcile/--no-reconcile", default=True)
@click.option("--autoscale/--no-autoscale", default=True)
@click.pass_context
def run_command(ctx: click.Context, inventory: str, reconcile: bool, autoscale: bool) -> None:
    """One reconcile pass, then one autoscale pass; skipped while another run holds the lock."""
    from kob.passes.periodic import passes_on
    from kob.spec.inventory import load_inventory

    inv = load_inventory(inventory)
    stamp = time.strftime("%Y-%m-%d %H:%M:%S")

    async def one_run(store, pool):
        outcome = await passes_on(inv, store, pool, reconcile=reconcile, autoscale=autoscale,
                                  say=lambda line: click.echo(f"{stamp} {line}"))
        return outcome, dict(pool.exec_count)

    outcome, commands = run_with(inv, one_run)
    click.echo(f"{stamp} {outcome.outcome}: {outcome.summary}")
    if ctx.find_root().obj and ctx.find_root().obj.get("verbose"):
        per_host = ", ".join(f"{host} {n}" for host, n in sorted(commands.items()))
        click.echo(f"{stamp} ssh commands: {sum(commands.values())} ({per_host})")
    if outcome.outcome == "failed":
        raise SystemExit(1)
