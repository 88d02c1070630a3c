"""An asyncio event loop on a thread of its own, so Flask's threads can wait on kob's async layers."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future
from typing import Any, Coroutine, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """Every coroutine given to it runs on its one loop: the store and SSH pool are only used there."""

    def __init__(self, name: str = "kob-loop"):
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name=name, daemon=True)
        self._thread.start()

    def call(self, coroutine: Coroutine[Any, Any, T], timeout: float | None = 60.0) -> T:
        """Run the coroutine on the loop and wait for its result (its exception is raised here)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(timeout)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> Future:
        """Start the coroutine on the loop; the caller does not wait."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def cancel_tasks(self, timeout: float = 10.0) -> None:
        """Cancel every task still running on the loop, and wait until they are done."""
        self.call(_cancel_others(), timeout)

    def stop(self, timeout: float = 10.0) -> None:
        """Cancel what still runs, then stop the loop and its thread."""
        if self.loop.is_closed():
            return
        try:
            self.cancel_tasks(timeout)
        finally:
            self.loop.call_soon_threadsafe(self.loop.stop)
            self._thread.join(timeout)
            if not self._thread.is_alive():
                self.loop.close()


async def _cancel_others() -> None:
    tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
