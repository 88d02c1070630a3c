"""The one place a kob command opens the store and the transport, runs its coroutine and closes both.

    report = run_with(inv, lambda store, pool: deploy(inv, store=store, pool=pool))
    jobs = run_with(inv, lambda store, _: JobBook(store, namespace(inv)).all(), transport=False)

The store is the inventory's (``state:``); the transport is ``open_transport()``'s, which
`kob web` and `kob serve` are given too. Nothing heavy is imported until a command runs.
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


def open_transport() -> Transport:
    """The transport kob's commands reach hosts with: a pool of SSH connections, connected on first use."""
    from kob.transport.ssh import SshPool

    return SshPool()


def run_with(inventory: Inventory, work: Work[T], *, store: bool = True, transport: bool = True) -> T:
    """``work(store, transport)`` on a fresh event loop; either is None when not asked for."""
    import asyncio

    return asyncio.run(_opened(inventory, work, store, transport))


async def _opened(inventory: Inventory, work: Work[T], store: bool, transport: bool) -> T:
    from contextlib import AsyncExitStack

    async with AsyncExitStack() as stack:  # closes the transport, then the store
        opened = None
        if store:  # a command without one (kob exec) loads no store code
            from kob.store import open_store

            opened = await stack.enter_async_context(open_store(inventory.state_url))
        pool = open_transport() if transport else None
        if pool is not None:
            stack.push_async_callback(pool.close)
        return await work(opened, pool)
