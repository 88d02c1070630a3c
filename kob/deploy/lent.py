"""The holder's side of deploys it runs for its clients (kob.lend.deploys is the client's side and the wire).

The holder (`kob connect`, `kob serve`) reads the client's inventory file again for each deploy, so an edit
made since the holder started counts, and refuses a file whose holder socket is not its own (another
inventory, or another store). The deploy runs with the holder's SSH connections and its store, as the
client would have run it: same lock, same steps, same lines. Its SSH commands are counted apart from the
other clients' (for `-v`).
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from kob.deploy.converge import deploy
from kob.deploy.transfer_progress import shown_by
from kob.errors import HolderError, KobError
from kob.lend.deploys import DeploySummary
from kob.spec.inventory import load_inventory
from kob.store.base import Store
from kob.transport.base import Progress, SshTarget, Transport
from kob.transport.holder_socket import holder_socket_path
from kob.transport.result import Result

Send = Callable[[dict[str, Any]], None]


class DeployDesk:
    """Runs deploys of the inventory whose holder listens at ``socket_path``, with ``pool`` and the store
    ``store()`` gives (the one the holder lends)."""

    def __init__(self, pool: Transport, store: Callable[[], Store], socket_path: Path):
        self.pool, self.store, self.socket_path = pool, store, socket_path

    async def run(self, request: dict[str, Any], send: Send) -> dict[str, Any]:
        """The deploy ``request`` asks for; ``{"report": summary}`` or ``{"kob_error": message}``."""
        try:
            options, path = _options(request), _inventory_path(request)
            as_named = _as_named(path, request.get("shown_as"))
            shown_by((lambda line: send({"progress": as_named(line)})) if request.get("progress") is True else None)
            inventory = load_inventory(path)
            if holder_socket_path(inventory.path, inventory.state_url) != self.socket_path:
                raise HolderError(f"{inventory.path} (with its state:) is not the inventory this holder serves")
            counted = CountedTransport(self.pool)
            report = await deploy(inventory, store=self.store(), pool=counted,
                                  say=lambda text: send({"say": as_named(str(text))}), **options)
        except KobError as error:
            return {"kob_error": _as_named(request.get("inventory"), request.get("shown_as"))(str(error))}
        return {"report": DeploySummary.of(report).to_wire()}


def _inventory_path(request: dict[str, Any]) -> str:
    path = request.get("inventory")
    if not isinstance(path, str) or not path:
        raise HolderError("a deploy request without its inventory")
    return path


def _as_named(path: Any, shown_as: Any) -> Callable[[str], str]:
    """Text with the inventory's absolute path (which the holder reads) written as the client's user named it,
    and the files beside it likewise: the lines a deploy of the client's own would print."""
    if not isinstance(path, str) or not isinstance(shown_as, str) or not shown_as or shown_as == path:
        return lambda text: text
    folder, shown_folder = os.path.dirname(path), os.path.dirname(shown_as)
    beside = (folder.rstrip("/") + "/", shown_folder + "/" if shown_folder else "")
    return lambda text: text.replace(path, shown_as).replace(*beside)


def _options(request: dict[str, Any]) -> dict[str, Any]:
    """The deploy options of a request, each of its kind (a client of kob sends nothing else)."""
    flags = {name: request.get(name, False) for name in ("check", "diff_lb", "adopt")}
    wait = request.get("wait", 0)
    if not all(isinstance(value, bool) for value in flags.values()) or isinstance(wait, bool) \
            or not isinstance(wait, (int, float)) or wait < 0:
        raise HolderError("a deploy request whose options are not flags and a wait in seconds")
    return {**flags, "wait": float(wait)}


class CountedTransport:
    """``pool`` with commands counted for this deploy only (the holder's pool counts every client's)."""

    def __init__(self, pool: Transport):
        self.pool = pool
        self.exec_count: Counter[str] = Counter()

    async def run(self, target: SshTarget, argv: Sequence[str], *, input: bytes | None = None,
                  timeout: float | None = None) -> Result:
        self.exec_count[target.name] += 1
        return await self.pool.run(target, argv, input=input, timeout=timeout)

    def lines(self, target: SshTarget, argv: Sequence[str]) -> AsyncIterator[str]:
        self.exec_count[target.name] += 1
        return self.pool.lines(target, argv)

    async def feed(self, sink: SshTarget, sink_argv: Sequence[str], chunks: AsyncIterator[bytes],
                   progress: Progress | None = None) -> tuple[Result, int]:
        self.exec_count[sink.name] += 1
        return await self.pool.feed(sink, sink_argv, chunks, progress)

    async def relay(self, source: SshTarget, source_argv: Sequence[str], sink: SshTarget, sink_argv: Sequence[str],
                    progress: Progress | None = None) -> tuple[Result, Result, int]:
        self.exec_count.update([source.name, sink.name])
        return await self.pool.relay(source, source_argv, sink, sink_argv, progress)

    async def close(self) -> None:
        """The holder's pool stays open."""
