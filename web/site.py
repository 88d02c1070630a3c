"""What the Flask views ask for: the inventory's overview and its pages, kept fresh on the background loop."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from kob.view.watch import Watcher
from kob.errors import KobError, StoreError
from kob.metrics.rates import HostUsage

from kob.web.runner import BackgroundLoop

log = logging.getLogger(__name__)


class Site:
    """A Watcher driven by a BackgroundLoop.

    With ``refresh`` seconds, a task refreshes the overview that often and requests get
    the latest one; with None, every request reads the store itself (tests, tiny setups).
    """

    def __init__(self, watcher: Watcher, refresh: float | None = None, loop: BackgroundLoop | None = None):
        self.watcher, self.refresh = watcher, refresh
        self.loop = loop or BackgroundLoop()
        self.error: str | None = None  # why the last refresh failed, until one succeeds
        self.extra: dict[str, Any] = {}  # set by `kob serve`: its own role
        self.inventory_error: str | None = None  # set while an edit of the inventory file does not load
        if refresh:
            self.loop.spawn(self._refresh_forever(refresh))

    def overview(self) -> dict[str, Any]:
        """The latest overview; ``stale`` when refreshing it failed since (it is then older than one refresh)."""
        return {**self._fresh(), "refresh_error": self.error, "stale": self.error is not None,
                "serve": self.extra or None, "inventory_error": self.inventory_error}

    def service(self, name: str) -> dict[str, Any] | None:
        self._fresh()
        return self.loop.call(self.watcher.service_page(name))

    def host(self, name: str) -> dict[str, Any] | None:
        self._fresh()
        return self.loop.call(self.watcher.host_page(name))

    def latest_usage(self) -> dict[str, HostUsage]:
        """Each host's newest kept sample, read from the store now (two reads a host, no SSH)."""
        return self.loop.call(self.watcher.latest_usage())

    def job(self, job_id: int) -> dict[str, Any] | None:
        return self.loop.call(self.watcher.job_page(job_id))

    def _fresh(self) -> dict[str, Any]:
        """The latest overview; read now when there is no refresh task or it has not finished once."""
        if self.refresh and self.watcher.latest is not None:
            return self.watcher.latest
        return self.loop.call(self.watcher.refresh())

    def close(self) -> None:
        self.loop.stop()

    async def _refresh_forever(self, every: float) -> None:
        """Refresh every ``every`` seconds; a failure keeps the last overview, marked stale, and is logged
        once until it changes (a store that stops answering is said by the store itself, see
        kob.store.outage)."""
        logged = None
        while True:
            started = time.monotonic()
            try:
                await self.watcher.refresh()
                self.error = logged = None
            except (KobError, OSError) as error:
                self.error = f"{time.strftime('%H:%M:%S')}: {error}"
                if not isinstance(error, StoreError) and str(error) != logged:
                    log.warning("status page refresh failed: %s", error)
                logged = str(error)
            await asyncio.sleep(max(0.0, every - (time.monotonic() - started)))
