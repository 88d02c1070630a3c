"""`kob serve`'s control loop: the reconcile and autoscale passes every few seconds, run by the leader only.

Every `kob serve` of an inventory competes for the store lock ``<namespace>/leader``
(kob.passes.leader); the holder runs the passes, the others serve the page and wait.
With etcd the lock sits on a lease, so a killed leader's lock is gone within the
lease time and a follower takes over on its next election step (every lease/3 s).
The passes still take the deploy lock, so they never overlap a `kob deploy` or cron.
"""

from __future__ import annotations

import asyncio
import os
import time
from typing import Any, Callable

from kob.passes.leader import Leadership
from kob.passes.periodic import leader_lock_name, passes_on
from kob.identity import namespace, operator
from kob.deploy.events import EventLog
from kob.errors import StoreError
from kob.spec.inventory import Inventory
from kob.store.base import Store
from kob.transport.base import Transport


class ServeLoop:
    def __init__(self, inventory: Inventory, store: Store, pool: Transport, *, every: float, lease: float,
                 reconcile: bool = True, autoscale: bool = True, say: Callable[[str], None] = print):
        self.inventory, self.store, self.pool, self.say = inventory, store, pool, say
        self.every, self.reconcile, self.autoscale = every, reconcile, autoscale
        self.holder = f"{operator()} pid {os.getpid()}"
        self.leadership = Leadership(store, leader_lock_name(inventory), self.holder, lease, self._changed)
        self.events = EventLog(store, namespace(inventory))
        self.status: dict[str, Any] = {"holder": self.holder, "role": "follower", "every": every, "lease": lease,
                                       "passes": 0}
        self._wake = asyncio.Event()

    async def run(self, stop: asyncio.Event) -> None:
        """Elect and act until ``stop`` is set; a leader gives the lock back on the way out."""
        election = asyncio.create_task(self.leadership.run(stop))
        try:
            while not stop.is_set():
                if self.leadership.leading:
                    await self._pass()
                await _first_of(stop, self._wake, self.every)
                self._wake.clear()
        finally:
            await election

    async def _pass(self) -> None:
        try:
            outcome = await passes_on(self.inventory, self.store, self.pool, reconcile=self.reconcile,
                                      autoscale=self.autoscale, say=self.say, who=self.holder)
        except StoreError as error:  # not even the outcome could be kept: the store says it is away, once
            self.status.update(last_error=str(error))
            return
        self.status.update(passes=self.status["passes"] + 1, last_pass=time.time())
        self.say(f"pass {outcome.outcome}: {outcome.summary}")

    async def _changed(self, leading: bool, reason: str) -> None:
        self.status["role"] = "leader" if leading else "follower"
        self.say(f"{self.holder}: {reason}")
        try:
            await self.events.add("leader", f"{self.holder}: {reason}")
        except StoreError:  # the store is why leadership was lost, and it says so itself (kob.store.outage)
            pass
        if leading:
            self._wake.set()  # a new leader acts at once, not after a whole interval


async def _first_of(stop: asyncio.Event, wake: asyncio.Event, timeout: float) -> None:
    """Wait until either event is set, at most ``timeout`` seconds."""
    waiters = [asyncio.create_task(stop.wait()), asyncio.create_task(wake.wait())]
    try:
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for waiter in waiters:
            waiter.cancel()
