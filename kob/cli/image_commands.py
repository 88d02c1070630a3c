"""`kob send-image INVENTORY REF`: an image of the manager's Docker onto the hosts, before a deploy needs it."""

from __future__ import annotations

import click

from kob.cli.colour import say
from kob.cli.options import INVENTORY
from kob.cli.runner import run_with


@click.command("send-image")
@INVENTORY
@click.argument("ref")
@click.option("--hosts", "pattern", default="all", show_default=True, help="Host pattern: all, a group, names, globs.")
def send_image_command(inventory: str, ref: str, pattern: str) -> None:
    """Stream REF from the manager's Docker to the matching hosts at once: one `docker save`, gzipped, each host
    getting only the layers it lacks. Hosts that have it already are left alone (or only tagged)."""
    from kob.deploy.image_send import send_image
    from kob.errors import ImagesNotSent
    from kob.spec.inventory import load_inventory
    from kob.spec.patterns import hosts_for_option

    inv = load_inventory(inventory)
    hosts = hosts_for_option(inv, pattern)
    shipment = run_with(inv, lambda _, pool: send_image(pool, inv, ref, hosts, say), store=False)
    total = sum(shipment.sent.values())
    say(f"{ref}: sent to {len(shipment.sent)} of {len(hosts)} hosts, {total / 1e6:.1f} MB in all")
    if shipment.failed:
        raise ImagesNotSent("; ".join(shipment.failed[h] for h in sorted(shipment.failed)))
