"""`kob exec INVENTORY 'CMD'`: ad-hoc fan-out, like `ansible -m shell`."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

import click

from kob.cli.options import INVENTORY
from kob.cli.runner import run_with

if TYPE_CHECKING:
    from kob.adhoc import HostOutcome


@click.command("exec")
@INVENTORY
@click.argument("command")
@click.option("--hosts", "pattern", default="all", show_default=True, help="Host pattern: all, a group, names, globs.")
@click.option("--json", "as_json", is_flag=True, help="One JSON object per host.")
def exec_command(inventory: str, command: str, pattern: str, as_json: bool) -> None:
    """Run a shell command on matching hosts in parallel."""
    from kob.adhoc import run_everywhere, shell_argv
    from kob.spec.inventory import load_inventory
    from kob.spec.patterns import hosts_for_option
    from kob.transport.targets import ssh_target

    inv = load_inventory(inventory, workloads=False)  # hosts only: it works while a services: section is wrong
    targets = [ssh_target(inv, host) for host in hosts_for_option(inv, pattern)]
    outcomes = run_with(inv, lambda _, pool: run_everywhere(pool, targets, shell_argv(command)), store=False)
    if as_json:
        for outcome in outcomes:
            click.echo(json.dumps(outcome.as_json()))
    else:
        _print(outcomes)
    if any(outcome.status != "ok" for outcome in outcomes):
        raise SystemExit(2)


def _print(outcomes: list[HostOutcome]) -> None:
    width = max(len(outcome.host) for outcome in outcomes)
    for outcome in outcomes:
        if outcome.result is None:
            continue
        for line in outcome.result.stdout.splitlines():
            click.echo(f"{outcome.host:<{width}} | {line}")
        for line in outcome.result.stderr.splitlines():
            click.echo(f"{outcome.host:<{width}} ! {line}", err=True)
    for outcome in outcomes:
        click.echo(f"{outcome.host:<{width}} : {outcome.recap}")
