"""`kob web | serve`: the status page, and the page with the control loop beside it."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import click

from kob.cli.options import DAY, INVENTORY, Seconds
from kob.cli.runner import open_transport
from kob.errors import KobError

if TYPE_CHECKING:
    from kob.web.serve import PageOptions


def page_options(function):
    """--bind, --token and --refresh, shared by both commands."""
    for option in reversed((
        click.option("--bind", default="127.0.0.1:8080", show_default=True, metavar="HOST:PORT",
                     help="Where to listen; beyond localhost a token is required."),
        click.option("--token", envvar="KOB_WEB_TOKEN", metavar="TOKEN",
                     help="Required of every request (Authorization: Bearer, or /?token= once in a browser); "
                          "prefer KOB_WEB_TOKEN, which `ps` does not show."),
        click.option("--refresh", type=Seconds(min=0.5, max=DAY), default=5.0, show_default=True, metavar="S",
                     help="Seconds between looks at the store and the hosts."),
        click.option("--tls-cert", metavar="FILE", help="Serve HTTPS with this PEM (certificate, chain and "
                                                        "unencrypted key), so a token never travels in the clear."),
    )):
        function = option(function)
    return function


def _page(bind: str, token: str | None, refresh: float, tls_cert: str | None = None) -> PageOptions:
    from kob.web.auth import parse_bind
    from kob.web.serve import PageOptions

    try:
        host, port = parse_bind(bind, token)
    except ValueError as error:
        raise KobError(str(error)) from None
    if tls_cert:
        from kob.web.tls_server import tls_context

        tls_context(tls_cert)  # a bad file is refused before anything starts
    return PageOptions(host, port, token or None, refresh, tls_cert)


def _say(line: str) -> None:
    click.echo(f"{time.strftime('%H:%M:%S')} {line}")


@click.command("web")
@INVENTORY
@page_options
def web_command(inventory: str, bind: str, token: str | None, refresh: float, tls_cert: str | None) -> None:
    """The read-only status page of an inventory (Ctrl-C stops)."""
    from kob.spec.inventory import load_inventory
    from kob.web.serve import run_page

    page = _page(bind, token, refresh, tls_cert)
    run_page(load_inventory(inventory), page, _say, open_transport=open_transport)


@click.command("serve")
@INVENTORY
@page_options
@click.option("--every", type=Seconds(min=1, max=DAY), default=30.0, show_default=True, metavar="S",
              help="Seconds between passes (reconcile, then autoscale).")
@click.option("--lease", type=Seconds(min=2, max=3600), default=10.0, show_default=True, metavar="S",
              help="The leader's lease: a killed leader is replaced within about this long.")
@click.option("--no-reconcile", is_flag=True, help="Do not heal or replace replicas.")
@click.option("--no-autoscale", is_flag=True, help="Do not autoscale.")
def serve_command(inventory: str, bind: str, token: str | None, refresh: float, tls_cert: str | None, every: float,
                  lease: float, no_reconcile: bool, no_autoscale: bool) -> None:
    """The status page plus the control loop; of several `kob serve`, only the elected leader acts."""
    from kob.spec.inventory import load_inventory
    from kob.web.serve import run_page

    page = _page(bind, token, refresh, tls_cert)
    loop = {"every": every, "lease": lease, "reconcile": not no_reconcile, "autoscale": not no_autoscale}
    run_page(load_inventory(inventory), page, _say, loop, open_transport=open_transport)
