"""The one place a kob command opens the store and the transport, runs its coroutine and closes both.

    report = run_with(inv, lambda store, pool: deploy(inv, store=store, pool=pool))
    jobs = run_with(inv, lambda store, _: JobBook(store, namespace(inv)).all(), transport=False)

The transport is ``open_transport(inventory)``'s: the inventory's connection holder (`kob connect`) when
one answers on its socket, else a pool of this process's own SSH connections, which `kob web` and `kob serve`
are given. The store is the one that holder lends (kob.lend.client), else the inventory's own (``state:``).
Nothing heavy is imported until a command runs.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from kob.spec.inventory import Inventory
    from kob.store.base import Store
    from kob.transport.base import Transport

T = TypeVar("T")
Work = Callable[["Store | None", "Transport | None"], Awaitable[T]]


def open_transport(inventory: Inventory | None = None) -> Transport:
    """The transport kob's commands reach hosts with: the inventory's live connection holder, unless
    KOB_NO_HOLDER is set; else a pool of SSH connections, connected on first use."""
    import os

    if inventory is not None and not os.environ.get("KOB_NO_HOLDER"):
        from kob.transport.warm import warm_transport

        warm = warm_transport(inventory)
        if warm is not None:
            return warm
    from kob.transport.ssh import SshPool

    return SshPool()


def run_with(inventory: Inventory, work: Work[T], *, store: bool = True, transport: bool = True) -> T:
    """``work(store, transport)`` on a fresh event loop; either is None when not asked for."""
    import asyncio

    return asyncio.run(_opened(inventory, work, store, transport))


async def _opened(inventory: Inventory, work: Work[T], store: bool, transport: bool) -> T:
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:  # closes the transport, then the store
        pool = open_transport(inventory) if transport else None
        opened = None
        if store:  # a command without one (kob exec) loads no store code
            opened = await stack.enter_async_context(_open_store(inventory, pool))
        if pool is not None:
            stack.push_async_callback(pool.close)
        return await work(opened, pool)


def _open_store(inventory: Inventory, pool: Transport | None) -> Store:
    """The store the inventory's connection holder lends, when the transport is that holder's and it lends
    one; else the inventory's own (``state:``)."""
    holder = getattr(pool, "holder", None) if pool is not None else live_holder(inventory)
    if holder is not None and holder.lends_store:
        from kob.lend.client import LentStore

        return LentStore(holder)
    from kob.store import open_store

    return open_store(inventory.state_url)


def live_holder(inventory: Inventory):
    """The inventory's live connection holder (for a command that asks no host, or asks the holder to run it),
    unless KOB_NO_HOLDER is set."""
    import os

    if os.environ.get("KOB_NO_HOLDER"):
        return None
    from kob.transport.holder_socket import holder_socket_path, probe

    return probe(holder_socket_path(inventory.path, inventory.state_url))
