"""One `docker save` stream, cut into tar members and routed to each group of hosts (see image_archive).

Every group gets every member except the layer files of layers all its hosts have. A classic
``layer.tar`` is named by a v1 ID, not by its diff ID, so when some group may leave it out it is
spooled to a temporary file while it is hashed, then sent on to the groups that lack it; with no
such group, and for OCI blobs (named by digest), members stream through without a stop.
"""

from __future__ import annotations

import asyncio
import hashlib
import tempfile
from typing import Awaitable, Callable, Protocol, Sequence

from kob.deploy.image_archive import (BLOCK, END_OF_ARCHIVE, EXTENSIONS, is_legacy_layer, keeps, layer_file_digest,
                                      long_name, padded, parse_header)

CHUNK = 1 << 16
ReadExactly = Callable[[int], Awaitable[bytes]]  # raises asyncio.IncompleteReadError at the end


class Sink(Protocol):
    async def write(self, data: bytes) -> None: ...


async def route_archive(read: ReadExactly, diff_ids: Sequence[str], sinks: dict[frozenset[str], Sink]) -> None:
    """Read one tar archive and write to each sink (keyed by the diff IDs its hosts lack) what it needs.

    The sinks are not closed: the caller does, once the archive's writer has exited well."""
    image_layers = frozenset(diff_ids)
    may_skip = any(lacking != image_layers for lacking in sinks)
    lead, lead_name = b"", None  # extension headers that belong to the next member
    while True:
        block = await _block_or_end(read)
        if block is None:
            break
        header = parse_header(block)
        data_size = padded(header.size)
        if header.kind in EXTENSIONS:
            data = await read(data_size)
            lead, lead_name = lead + block + data, long_name(header, data[:header.size]) or lead_name
            continue
        name, raw = lead_name or header.name, lead + block
        lead, lead_name = b"", None
        digest = layer_file_digest(name)
        if digest is None and may_skip and is_legacy_layer(name):
            await _spooled(read, raw, header.size, data_size, image_layers, sinks)
            continue
        chosen = [s for lacking, s in sinks.items() if digest is None or keeps(digest, image_layers, lacking)]
        await _write_all(chosen, raw)
        await _copy(read, data_size, chosen)
    for sink in sinks.values():
        await sink.write(END_OF_ARCHIVE)


async def _block_or_end(read: ReadExactly) -> bytes | None:
    try:
        block = await read(BLOCK)
    except asyncio.IncompleteReadError:
        return None
    return None if block == bytes(BLOCK) else block


async def _copy(read: ReadExactly, size: int, sinks: list[Sink]) -> None:
    while size:
        chunk = await read(min(CHUNK, size))
        size -= len(chunk)
        await _write_all(sinks, chunk)


async def _spooled(read: ReadExactly, raw: bytes, size: int, data_size: int, image_layers: frozenset[str],
                   sinks: dict[frozenset[str], Sink]) -> None:
    """A layer.tar: to disk while hashed, then to the sinks that lack it."""
    digest = hashlib.sha256()
    with tempfile.TemporaryFile(prefix="kob-layer-") as spool:
        done = 0
        while done < data_size:
            chunk = await read(min(CHUNK, data_size - done))
            digest.update(chunk[:max(0, size - done)])  # the padding after the data is no part of the layer
            done += len(chunk)
            spool.write(chunk)
        diff_id = f"sha256:{digest.hexdigest()}"
        chosen = [s for lacking, s in sinks.items() if keeps(diff_id, image_layers, lacking)]
        if not chosen:
            return
        await _write_all(chosen, raw)
        spool.seek(0)
        while chunk := spool.read(CHUNK):
            await _write_all(chosen, chunk)


async def _write_all(sinks: list[Sink], data: bytes) -> None:
    for sink in sinks:
        await sink.write(data)
