"""The Transport through a connection holder's socket: the holder's open SSH connections do the work.

Each request is one Unix connection to the holder (kob.transport.holder_wire says what travels).
This module imports no SSH library: a short command that finds a holder starts fast.

A holder that goes away while requests are out ends the whole command with one HolderError naming
the holder and every host a request was out for. Nothing is tried again, directly or through the
holder: the command may have run on those hosts, and kob never runs a command twice.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from contextlib import asynccontextmanager
from collections.abc import AsyncIterator, Sequence
from typing import Any

from kob.errors import HolderError
from kob.transport.base import Progress, SshTarget
from kob.transport.holder_socket import HolderInfo
from kob.transport.holder_wire import (BYTES, bytes_frame, error_from_wire, json_frame, read_frame, result_from_wire,
                                       target_to_wire)
from kob.transport.result import Result

ANSWER_SLACK = 30.0  # s a holder may take beyond a command's own bounds before it counts as lost


class WarmTransport:
    """Runs commands through a live holder (see kob.transport.holder_socket.probe)."""

    def __init__(self, holder: HolderInfo):
        self.holder = holder
        self.exec_count: Counter[str] = Counter()
        self._out: Counter[str] = Counter()  # hosts with a request out now
        self._gone: str | None = None  # once the holder is lost, every later request fails the same way

    async def run(self, target: SshTarget, argv: Sequence[str], *, input: bytes | None = None,
                  timeout: float | None = None) -> Result:
        request = {"op": "run", "target": target_to_wire(target), "argv": list(argv), "timeout": timeout,
                   "input": input is not None}
        bound = (timeout or target.command_timeout) + target.connect_timeout + ANSWER_SLACK
        async with self._request([target], request, [] if input is None else [bytes_frame(input)]) as answers:
            try:  # the holder bounds the command; this bounds a holder that stopped answering (frozen)
                final = await asyncio.wait_for(self._final(answers), bound)
            except TimeoutError:
                raise self._lost(f"did not answer within {bound:g} s") from None
        return result_from_wire(final["result"])

    async def lines(self, target: SshTarget, argv: Sequence[str]) -> AsyncIterator[str]:
        request = {"op": "lines", "target": target_to_wire(target), "argv": list(argv)}
        async with self._request([target], request) as answers:
            while "line" in (answer := await self._next(answers)):
                yield str(answer["line"])
            self._ended(answer)

    async def feed(self, sink: SshTarget, sink_argv: Sequence[str], chunks: AsyncIterator[bytes],
                   progress: Progress | None = None) -> tuple[Result, int]:
        request = {"op": "feed", "target": target_to_wire(sink), "argv": list(sink_argv)}
        async with self._request([sink], request) as answers:
            sending = asyncio.ensure_future(_send_chunks(answers[1], chunks))
            try:
                final = await self._final(answers, progress)
            finally:
                sending.cancel()
        return result_from_wire(final["result"]), int(final["moved"])

    async def relay(self, source: SshTarget, source_argv: Sequence[str], sink: SshTarget, sink_argv: Sequence[str],
                    progress: Progress | None = None) -> tuple[Result, Result, int]:
        request = {"op": "relay", "source": target_to_wire(source), "source_argv": list(source_argv),
                   "target": target_to_wire(sink), "argv": list(sink_argv)}
        async with self._request([source, sink], request) as answers:
            final = await self._final(answers, progress)
        sent, loaded = final["results"]
        return result_from_wire(sent), result_from_wire(loaded), int(final["moved"])

    async def close(self) -> None:
        """Nothing to close: each request's connection closes when it ends; the holder keeps the SSH ones."""

    @asynccontextmanager
    async def _request(self, targets: list[SshTarget], request: dict[str, Any], after: Sequence[bytes] = ()):
        """A connection to the holder with ``request`` (and ``after``) sent; closed on the way out, which
        stops the remote command if it still runs."""
        if self._gone is not None:
            raise HolderError(self._gone)
        names = [t.name for t in targets]
        self._out.update(names)
        self.exec_count.update(names)
        writer = None
        try:
            try:
                reader, writer = await asyncio.open_unix_connection(str(self.holder.path))
                writer.write(json_frame(request) + b"".join(after))
                await writer.drain()
            except OSError as error:
                raise self._lost(f"could not be reached ({error.strerror or error})") from None
            yield reader, writer
        finally:
            self._out.subtract(names)
            if writer is not None:
                writer.close()

    async def _next(self, answers) -> dict[str, Any]:
        try:
            frame = await read_frame(answers[0])
        except (OSError, HolderError) as error:
            raise self._lost(f"broke off ({error})") from None
        if frame is None:
            raise self._lost("went away")
        kind, value = frame
        if kind == BYTES:
            raise self._lost("answered bytes where a JSON frame belongs")
        return value

    async def _final(self, answers, progress: Progress | None = None) -> dict[str, Any]:
        """The last answer of a request; progress frames go to ``progress``; an error is raised."""
        while set(answer := await self._next(answers)) == {"moved"}:
            if progress:
                progress(int(answer["moved"]))
        self._ended(answer)
        return answer

    def _ended(self, answer: dict[str, Any]) -> None:
        if "error" not in answer:
            return
        error = error_from_wire(answer["error"])
        if isinstance(error, str):
            raise self._lost(f"failed ({error})")
        raise error

    def _lost(self, how: str) -> HolderError:
        """The error that ends the command: the holder, what happened, and every host a request was out for."""
        if self._gone is not None:  # the first loss names every host out then; later ones say the same
            return HolderError(self._gone)
        hosts = sorted(name for name, count in self._out.items() if count > 0)
        self._gone = (f"{self.holder.describe()} {how} while running on {', '.join(hosts) or 'no host'}; "
                      "not tried again, since the command may have run there: check, then run it again")
        return HolderError(self._gone)


async def _send_chunks(writer: asyncio.StreamWriter, chunks: AsyncIterator[bytes]) -> None:
    """A stream's chunks as bytes frames, then the end frame; stops quietly when the holder leaves."""
    try:
        async for chunk in chunks:
            for start in range(0, len(chunk), 1 << 20):
                writer.write(bytes_frame(chunk[start:start + (1 << 20)]))
                await writer.drain()
        writer.write(json_frame({"end": True}))
        await writer.drain()
    except OSError:
        pass


def warm_transport(inventory) -> WarmTransport | None:
    """A WarmTransport when a live holder serves this inventory (and its store), else None."""
    from kob.transport.holder_socket import holder_socket_path, probe

    holder = probe(holder_socket_path(inventory.path, inventory.state_url))
    return WarmTransport(holder) if holder is not None else None
