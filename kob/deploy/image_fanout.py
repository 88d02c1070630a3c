"""One stream of bytes to many hosts at once: each host reads from its own short queue.

The writer waits while any host's queue is full, so the slowest host paces the stream and memory
stays bounded (DEPTH chunks per host). A host that stops reading (its load failed, its connection
dropped) leaves: its queue is emptied and the writer no longer waits for it.
"""

from __future__ import annotations

import asyncio
import zlib
from typing import AsyncIterator, Iterable

DEPTH = 4  # chunks queued per host
GZIP_LEVEL = 1  # fast: the manager compresses for every host at once, the hosts' docker load unzips
COMPRESS_AT = 1 << 18  # bytes gathered before a chunk is compressed (off the event loop)


class _Aborted:
    def __init__(self, error: BaseException):
        self.error = error


class Fanout:
    """Chunks written once, read by every host that has not left."""

    def __init__(self, hosts: Iterable[str], depth: int = DEPTH):
        self.queues: dict[str, asyncio.Queue] = {host: asyncio.Queue(depth) for host in hosts}
        self.left: set[str] = set()

    async def write(self, chunk: bytes) -> None:
        for host, queue in self.queues.items():
            if host not in self.left:
                await queue.put(chunk)

    async def close(self) -> None:
        """The end of the stream, for every host still reading."""
        for host, queue in self.queues.items():
            if host not in self.left:
                await queue.put(None)

    def abort(self, error: BaseException) -> None:
        """End every host's stream with ``error`` (the source failed): readers raise it."""
        for host in self.queues:
            self._empty(host)
            self.queues[host].put_nowait(_Aborted(error))

    def leave(self, host: str) -> None:
        """``host`` reads no more; the writer stops waiting for it."""
        self.left.add(host)
        self._empty(host)

    async def chunks(self, host: str) -> AsyncIterator[bytes]:
        queue = self.queues[host]
        while (chunk := await queue.get()) is not None:
            if isinstance(chunk, _Aborted):
                raise chunk.error
            yield chunk

    def _empty(self, host: str) -> None:
        queue = self.queues[host]
        while not queue.empty():
            queue.get_nowait()


class GzipFanout:
    """A Fanout that gzips what is written, once for all its hosts."""

    def __init__(self, hosts: Iterable[str], level: int = GZIP_LEVEL):
        self.fanout = Fanout(hosts)
        self._zip = zlib.compressobj(level, zlib.DEFLATED, 31)  # wbits 16 + 15: a gzip stream
        self._pending = bytearray()
        self.raw = 0  # bytes written before compression

    async def write(self, data: bytes) -> None:
        self._pending += data
        self.raw += len(data)
        if len(self._pending) >= COMPRESS_AT:
            block, self._pending = bytes(self._pending), bytearray()
            packed = await asyncio.to_thread(self._zip.compress, block)  # zlib lets go of the GIL
            if packed:
                await self.fanout.write(packed)

    async def close(self) -> None:
        await self.fanout.write(self._zip.compress(bytes(self._pending)) + self._zip.flush())
        await self.fanout.close()
