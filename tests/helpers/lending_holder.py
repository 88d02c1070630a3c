"""A connection holder that lends a store, run in its own thread and event loop (as `kob connect` would run in
its own process), for tests of kob.lend.client."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from kob.lend.desk import StoreDesk
from kob.store import open_store
from kob.transport.holder import ConnectionHolder
from kob.transport.holder_socket import HolderInfo, probe


@contextmanager
def lending_holder(state_url: str, deploys=None) -> Iterator[HolderInfo]:
    """A live holder lending the store at ``state_url`` (it reaches no host), and ``deploys`` when given (an
    object with kob.transport.holder.Deploys' ``run``); stopped, its folder removed."""
    folder = Path(tempfile.mkdtemp(prefix="kob-lend-", dir="/tmp"))
    os.chmod(folder, 0o700)
    loop = asyncio.new_event_loop()
    started, stop = threading.Event(), asyncio.Event()
    failure: list[BaseException] = []

    async def serve() -> None:
        desk = StoreDesk(lambda: open_store(state_url))
        holder = ConnectionHolder(None, folder / "h.sock", "lent.yaml", lambda line: None, desk,  # type: ignore[arg-type]
                                  deploys)
        try:
            await holder.start()
        except BaseException as error:
            failure.append(error)
            raise
        finally:
            started.set()
        await stop.wait()
        await holder.stop()
        await desk.close()

    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    try:
        started.wait(30)
        if failure:
            raise failure[0]
        info = probe(folder / "h.sock")
        assert info is not None and info.lends_store
        yield info
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        loop.close()
        shutil.rmtree(folder, ignore_errors=True)
