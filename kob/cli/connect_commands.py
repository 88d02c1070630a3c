"""`kob connect INVENTORY`: hold the inventory's SSH connections open for the other kob commands of this user."""

from __future__ import annotations

import time

import click

from kob.cli.options import INVENTORY
from kob.cli.runner import run_with


def _say(line: str) -> None:
    click.echo(f"{time.strftime('%H:%M:%S')} {line}")


@click.command("connect")
@INVENTORY
def connect_command(inventory: str) -> None:
    """Keep SSH connections to every host and the store open, and lend them to other kob commands (Ctrl-C stops).

    While it runs, `kob exec`, `status`, `deploy` and the rest on this inventory go through its local
    socket (only this user may open it) instead of connecting themselves; KOB_NO_HOLDER=1 makes a
    command connect on its own anyway."""
    from kob.deploy.lent import DeployDesk
    from kob.lend.desk import StoreDesk
    from kob.spec.inventory import load_inventory
    from kob.transport.holder import hold

    inv = load_inventory(inventory)
    desk = StoreDesk.for_state(inv.state_url)
    run_with(inv, lambda _, __: hold(inv, _say, desk, lambda pool, path: DeployDesk(pool, desk.store, path)),
             store=False, transport=False)  # it makes its own pool
