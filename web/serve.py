"""Run the page under waitress (`kob web`), with the control loop beside it (`kob serve`).

The store and the SSH pool live on one background event loop; waitress's threads ask
it for data. Ctrl-C or SIGTERM stops the server, then the loop: a leader gives its lock
back on the way out, so the other `kob serve` takes over at once.
"""

from __future__ import annotations

import asyncio
import signal
from dataclasses import dataclass
from typing import Callable

import waitress

from kob.passes.inventory_follower import LOOK_EVERY, InventoryFollower
from kob.passes.serve_loop import ServeLoop
from kob.view.watch import Watcher
from kob.errors import KobError
from kob.spec.inventory import Inventory
from kob.store import open_store
from kob.store.outage import OutageNotices
from kob.transport.base import Transport

from kob.web import create_app
from kob.web.runner import BackgroundLoop
from kob.web.site import Site

THREADS = 8


@dataclass(frozen=True)
class PageOptions:
    host: str
    port: int
    token: str | None
    refresh: float
    tls_cert: str | None = None  # a PEM (certificate, chain, key): the page is served over HTTPS


def run_page(inventory: Inventory, page: PageOptions, say: Callable[[str], None],
             loop_options: dict | None = None, *, open_transport: Callable[[], Transport]) -> None:
    """Serve until interrupted; with ``loop_options`` (ServeLoop's keywords) also run the passes.

    ``open_transport`` makes the transport (kob.cli.runner's); it is called on the background loop.
    """
    loop = BackgroundLoop()
    store, pool = loop.call(_open(inventory, open_transport, say))
    stop, control_done, control, holder = asyncio.Event(), None, None, None
    try:
        if loop_options is not None:
            holder = loop.call(_lend(inventory, pool, store, say))
        site = Site(Watcher(inventory, store, pool), page.refresh, loop)
        if loop_options is not None:
            control = ServeLoop(inventory, store, pool, say=say, **loop_options)
            site.extra = control.status
            control_done = loop.spawn(control.run(stop))
        loop.spawn(_follow(inventory, site, control, stop, say))
        app = create_app(store, inventory, site=site, token=page.token)
        server = _server(app, page)
        say(f"kob: serving the status page of {inventory.path.name} at {_address(page)} (Ctrl-C stops)")
        _serve(server)
    finally:
        loop.loop.call_soon_threadsafe(stop.set)
        if control_done is not None:
            control_done.result(timeout=30)  # a leader gives its lock back here
        loop.cancel_tasks()  # the page's refresh, before the store and pool close under it
        if holder is not None:
            loop.call(holder.stop(), timeout=30)
        loop.call(_close(store, pool), timeout=30)
        loop.stop()


def _address(page: PageOptions) -> str:
    host = f"[{page.host}]" if ":" in page.host else page.host
    return f"{'https' if page.tls_cert else 'http'}://{host}:{page.port}/" + ("  (token required)" if page.token else "")


def _serve(server) -> None:
    def terminate(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGTERM, terminate)
    try:
        server.run()
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        server.close()


async def _follow(inventory: Inventory, site: Site, control: ServeLoop | None, stop: asyncio.Event,
                  say: Callable[[str], None]) -> None:
    """Switch the page and the passes to each edit of the inventory file that loads; show why one does not."""
    def switch(new: Inventory) -> None:
        site.watcher.follow(new)
        if control is not None:
            control.inventory = new

    follower = InventoryFollower(inventory, switch, say)
    while not stop.is_set():
        follower.check()
        site.inventory_error = follower.error
        try:
            await asyncio.wait_for(stop.wait(), LOOK_EVERY)
        except asyncio.TimeoutError:
            pass


async def _open(inventory: Inventory, open_transport: Callable[[], Transport], say: Callable[[str], None]):
    """The store (saying once when it stops answering, once when it is back) and the pool, made on the loop
    that will use them."""
    return OutageNotices(open_store(inventory.state_url), say), open_transport()


async def _lend(inventory: Inventory, pool: Transport, store, say: Callable[[str], None]):
    """Serve the pool's connections and the store to other kob commands on the inventory's holder socket, as
    `kob connect` does; None (said once) when another holder has the socket or the pool is not an SshPool."""
    from kob.deploy.lent import DeployDesk
    from kob.lend.desk import StoreDesk
    from kob.transport.holder import ConnectionHolder
    from kob.transport.holder_socket import holder_socket_path
    from kob.transport.ssh import SshPool

    if not isinstance(pool, SshPool):
        return None
    path = holder_socket_path(inventory.path, inventory.state_url)
    holder = ConnectionHolder(pool, path, str(inventory.path), say, StoreDesk(lambda: store, closes=False),
                              DeployDesk(pool, lambda: store, path))
    try:
        await holder.start()
    except KobError as error:
        say(f"kob serve: not lending connections: {error}")
        return None
    say(f"kob serve: lending SSH connections, the store and deploys to other kob commands at {holder.path}")
    return holder


def _server(app, page: PageOptions):
    """waitress for HTTP; with a certificate, the threaded TLS server of kob.web.tls_server (see why there)."""
    try:
        if page.tls_cert:
            from kob.web.tls_server import TlsWsgiServer, tls_context

            return TlsWsgiServer(page.host, page.port, app, tls_context(page.tls_cert))
        return waitress.create_server(app, host=page.host, port=page.port, threads=THREADS, ident="kob")
    except OSError as error:
        raise KobError(f"cannot listen on {page.host}:{page.port}: {error.strerror or error}") from None


async def _close(store, pool) -> None:
    await pool.close()
    await store.close()
