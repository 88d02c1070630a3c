"""The connection holder: an SshPool served on a local Unix socket to other kob commands of the same user.

`kob connect` runs one on its own; `kob serve` runs one beside its page and passes. Requests are
served concurrently on the holder's event loop, each on its own connection (kob.transport.holder_wire).
A peer of another uid is refused (SO_PEERCRED). Host keys are checked as the pool always checks them:
against the known_hosts file each request's target names.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any, Protocol

from kob.errors import HolderError, TransportError
from kob.transport.holder_socket import (
    code_identity,
    peer_credentials,
    peer_refusal,
    prepare_dir,
    probe,
)
from kob.transport.holder_wire import (
    ALIVE_EVERY,
    BYTES,
    error_to_wire,
    json_frame,
    read_frame,
    result_to_wire,
    target_from_wire,
)
from kob.transport.ssh import SshPool

MAX_CONNECTED = 256  # clients served at once; more wait in the listen backlog


class ConnectionHolder:
    """Serves ``pool`` on the socket at ``path``; ``start()``, then ``stop()``."""

    def __init__(self, pool: SshPool, path: Path, inventory: str, say: Callable[[str], None],
                 desk: Desk | None = None, deploys: Deploys | None = None):
        self.pool, self.path, self.inventory, self.say, self.desk = pool, path, inventory, say, desk
        self.deploys = deploys
        self._server: asyncio.AbstractServer | None = None
        self._slots = asyncio.Semaphore(MAX_CONNECTED)
        self._inode: int | None = None
        self._clients: set[asyncio.StreamWriter] = set()

    async def start(self) -> None:
        """Listen on the socket (0600, in a 0700 folder); HolderError if another live holder has it."""
        prepare_dir(self.path)
        other = probe(self.path)  # removes a dead holder's socket
        if other is not None:
            raise HolderError(f"{other.describe()} already holds this inventory's connections")
        old = os.umask(0o177)
        try:
            self._server = await asyncio.start_unix_server(self._serve, path=str(self.path))
        finally:
            os.umask(old)
        os.chmod(self.path, 0o600)
        self._inode = os.lstat(self.path).st_ino

    async def stop(self) -> None:
        """Stop listening, cut every client's connection (their commands end in a HolderError) and remove the
        socket (only if it is still this holder's)."""
        if self._server is None:
            return
        self._server.close()
        for writer in list(self._clients):
            writer.transport.abort()
        try:
            if os.lstat(self.path).st_ino == self._inode:
                self.path.unlink()
        except FileNotFoundError:
            pass
        await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        async with self._slots:
            self._clients.add(writer)
            try:
                refusal = peer_refusal(peer_credentials(writer.get_extra_info("socket")), os.getuid())
                if refusal is not None:
                    self.say(f"connection holder: refused a client: {refusal}")
                    return
                frame = await read_frame(reader)
                if frame is not None and frame[0] != BYTES:
                    await self._answer(frame[1], reader, writer)
            except (OSError, HolderError):
                pass  # the client left or sent nonsense: nothing of its request ran, or its command was ended
            finally:
                self._clients.discard(writer)
                writer.close()

    async def _answer(self, request: dict[str, Any], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        op = request.get("op")
        if op == "hello":
            writer.write(json_frame({"holder": self._hello()}))
            return await writer.drain()
        if op == "store" and self.desk is not None:
            return await self._lend(request, reader, writer)
        if op == "deploy" and self.deploys is not None:
            return await self._deploy(request, reader, writer)
        if op not in ("run", "lines", "feed", "relay"):
            raise HolderError(f"unknown request {op!r}")
        target = target_from_wire(request.get("target") or {})
        argv = _argv(request.get("argv"))
        self.pool.drop_broken(target)
        try:
            if op == "lines":
                await _until_left(reader, self._lines(target, argv, writer))
            elif op == "feed":
                await self._feed(target, argv, reader, writer)
            elif op == "relay":
                await _until_left(reader, self._relay(request, target, argv, writer))
            else:
                await self._run(request, target, argv, reader, writer)
        except (TransportError, HolderError) as error:
            self.pool.drop_broken(target)
            writer.write(json_frame({"error": error_to_wire(error)}))
        except Exception as error:  # noqa: BLE001 -- the holder's own fault: the client ends its command with it
            self.say(f"connection holder: a request failed: {type(error).__name__}: {error}")
            writer.write(json_frame({"error": error_to_wire(error)}))
        await writer.drain()

    def _hello(self) -> dict[str, Any]:
        from kob import __version__

        lends = (["store"] if self.desk else []) + (["deploy"] if self.deploys else [])
        return {"pid": os.getpid(), "inventory": self.inventory, "lends": lends, "version": __version__,
                "code": code_identity()}

    async def _deploy(self, request: dict[str, Any], reader: asyncio.StreamReader,
                      writer: asyncio.StreamWriter) -> None:
        """A client's deploy, run here; its lines go to the client as they come. The client leaving cancels it."""
        def send(frame: dict[str, Any]) -> None:
            writer.write(json_frame(frame))

        try:
            answer = await _until_left(reader, _kept_alive(self.deploys.run(request, send), send))
        except HolderError:
            raise
        except Exception as error:  # noqa: BLE001 -- the holder's own fault: the client ends its command with it
            self.say(f"connection holder: a deploy failed: {type(error).__name__}: {error}")
            answer = {"error": error_to_wire(error)}
        send(answer)
        await writer.drain()

    async def _lend(self, request: dict[str, Any], reader: asyncio.StreamReader,
                    writer: asyncio.StreamWriter) -> None:
        """One store call of a client: the desk's answer, or the holder's own failure."""
        try:
            answer = await _until_left(reader, self.desk.answer(request.get("method"), request.get("args")))
        except (HolderError, KeyError, TypeError, ValueError) as error:
            answer = {"error": error_to_wire(error)}
        writer.write(json_frame(answer))
        await writer.drain()

    async def _run(self, request: dict[str, Any], target, argv: list[str], reader, writer) -> None:
        data = None
        if request.get("input"):
            frame = await read_frame(reader)
            if frame is None or frame[0] != BYTES:
                raise HolderError("a run request whose input did not follow")
            data = frame[1]
        timeout = request.get("timeout")
        timeout = float(timeout) if isinstance(timeout, (int, float)) else None
        result = await _until_left(reader, self.pool.run(target, argv, input=data, timeout=timeout))
        writer.write(json_frame({"result": result_to_wire(result)}))

    async def _lines(self, target, argv: list[str], writer: asyncio.StreamWriter) -> None:
        async for line in self.pool.lines(target, argv):
            writer.write(json_frame({"line": line}))
            await writer.drain()
        writer.write(json_frame({"done": True}))

    async def _feed(self, target, argv: list[str], reader, writer) -> None:
        result, moved = await self.pool.feed(target, argv, _chunks(reader), _progress(writer))
        writer.write(json_frame({"result": result_to_wire(result), "moved": moved}))

    async def _relay(self, request: dict[str, Any], sink, sink_argv: list[str], writer) -> None:
        source = target_from_wire(request.get("source") or {})
        self.pool.drop_broken(source)
        sent, loaded, moved = await self.pool.relay(source, _argv(request.get("source_argv")), sink, sink_argv,
                                                    _progress(writer))
        writer.write(json_frame({"results": [result_to_wire(sent), result_to_wire(loaded)], "moved": moved}))


def _argv(value: Any) -> list[str]:
    if not isinstance(value, list) or not value or not all(isinstance(word, str) for word in value):
        raise HolderError("a request whose argv is not a list of words")
    return value


def _progress(writer: asyncio.StreamWriter) -> Callable[[int], None]:
    return lambda moved: writer.write(json_frame({"moved": moved}))


async def _chunks(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """A feed request's stream: bytes frames up to the end frame; a client that leaves first breaks it off."""
    while (frame := await read_frame(reader)) is not None:
        kind, value = frame
        if kind != BYTES:
            return
        yield value
    raise HolderError("the client left in the middle of a stream")


async def _until_left(reader: asyncio.StreamReader, work):
    """``work``'s value; cancelled (which ends its remote command) when the client closes its end first."""
    task = asyncio.ensure_future(work)
    left = asyncio.ensure_future(reader.read(1))
    try:
        await asyncio.wait({task, left}, return_when=asyncio.FIRST_COMPLETED)
        if not task.done():
            task.cancel()
            raise HolderError("the client left before its command ended")
        return task.result()
    finally:
        left.cancel()
        if not task.done():
            task.cancel()


async def _kept_alive(work, send: Callable[[dict[str, Any]], None]):
    """``work``'s value; meanwhile an ``alive`` frame every ALIVE_EVERY s, so the client can tell a long
    deploy (waiting for a lock, rolling out) from a holder that stopped answering."""
    task = asyncio.ensure_future(work)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=ALIVE_EVERY)
            if done:
                return task.result()
            send({"alive": True})
    finally:
        if not task.done():
            task.cancel()


class Deploys(Protocol):
    """Deploys a holder runs for its clients (kob.deploy.lent.DeployDesk): ``run`` sends the lines of one with
    ``send`` and returns its last answer."""

    async def run(self, request: dict[str, Any], send: Callable[[dict[str, Any]], None]) -> dict[str, Any]: ...


class Desk(Protocol):
    """What a holder lends besides connections (kob.lend.desk.StoreDesk): answers a client's store call."""

    async def answer(self, method: Any, args: Any) -> dict[str, Any]: ...

    async def close(self) -> None: ...


async def hold(inventory, say: Callable[[str], None], desk: Desk | None = None,
               deploys: Callable[[SshPool, Path], Deploys] | None = None) -> None:
    """`kob connect`: connect to every host of ``inventory``, serve the socket (and ``desk``, and the
    ``deploys(pool, socket path)`` makes) until SIGINT or SIGTERM."""
    import signal

    from kob.transport.holder_socket import holder_socket_path
    from kob.transport.targets import ssh_target

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    async with SshPool() as pool:
        path = holder_socket_path(inventory.path, inventory.state_url)
        holder = ConnectionHolder(pool, path, str(inventory.path), say, desk,
                                  deploys(pool, path) if deploys is not None else None)
        await holder.start()
        try:
            targets = [ssh_target(inventory, host) for host in inventory.hosts]
            failed = await _connect_all(pool, targets, say)
            say(f"kob connect: holding {len(targets) - failed} of {len(targets)} connections of {inventory.path} "
                f"at {holder.path} (pid {os.getpid()}); Ctrl-C stops")
            await stop.wait()
        finally:
            await holder.stop()
            if desk is not None:
                await desk.close()


async def _connect_all(pool: SshPool, targets: list, say: Callable[[str], None]) -> int:
    """Connect to every target at once; say why each one that failed did (it is tried again on its next
    request). Returns how many failed."""
    async def one(target) -> bool:
        try:
            await pool.connect(target)
            return True
        except TransportError as error:
            say(f"kob connect: {error}")
            pool.drop_broken(target)
            return False

    return sum(not ok for ok in await asyncio.gather(*(one(t) for t in targets)))
