"""The `docker save` archive, cut into members, and which members a host that has some layers needs (pure).

What the lab's Docker (Engine 20.10, the classic layer store) does, checked by hand and by
tests/integration/test_images_on_lab.py: `docker save` writes one folder per layer, ``<v1 id>/layer.tar``
(the layer's uncompressed tar: its sha256 is the layer's diff ID), ``<config digest>.json``, then
``manifest.json`` last (members come in name order, so the manifest cannot be read first). `docker load`
unpacks the whole archive, then walks each image's diff IDs bottom up and, when its layer store already
has the chain ID so far, skips the layer without opening its file. An archive that leaves out the
``layer.tar`` of layers the host has therefore loads; one that leaves out a layer the host lacks fails
with "open .../layer.tar: no such file or directory". Engines from 25.0 save ``blobs/sha256/<digest>``
(OCI layout), where a layer blob's name is its diff ID and the same skip applies. Gzip (and bzip2, xz)
are read by `docker load`; 20.10 does not read zstd ("archive/tar: invalid tar header").

A layer file's diff ID comes from its name (blobs) or, for ``layer.tar``, from hashing it on the way.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Mapping, Sequence

from kob.errors import ObservationError

BLOCK = 512
END_OF_ARCHIVE = bytes(2 * BLOCK)
EXTENSIONS = {b"x", b"g", b"L", b"K"}  # pax headers and GNU long names: they describe the member after them
_BLOB = re.compile(r"(?:^|/)blobs/sha256/([0-9a-f]{64})$")


@dataclass(frozen=True)
class Header:
    name: str
    size: int
    kind: bytes  # the tar type flag: b"0" a file, b"5" a folder, b"x" a pax header...


def parse_header(block: bytes) -> Header:
    """One 512-byte tar header block (ustar, pax or GNU); ObservationError when it is not one."""
    if len(block) != BLOCK:
        raise ObservationError(f"manager: docker save wrote a tar header of {len(block)} bytes, not {BLOCK}")
    if _octal(block[148:156]) != sum(block[:148]) + 8 * 32 + sum(block[156:]):
        raise ObservationError("manager: docker save wrote a tar header whose checksum does not match")
    name = block[:100].split(b"\0")[0]
    if block[257:262] == b"ustar" and block[345] != 0:
        name = block[345:500].split(b"\0")[0] + b"/" + name
    return Header(name.decode("utf-8", "surrogateescape"), _size(block[124:136]), block[156:157])


def padded(size: int) -> int:
    """A member's data as stored: rounded up to whole blocks."""
    return -(-size // BLOCK) * BLOCK


def long_name(header: Header, data: bytes) -> str | None:
    """The name a pax header ("path=") or a GNU long-name member gives the member after it."""
    if header.kind in (b"L", b"K"):
        return data.split(b"\0")[0].decode("utf-8", "surrogateescape") if header.kind == b"L" else None
    if header.kind == b"x":
        for record in _pax_records(data):
            key, _, value = record.partition(b"=")
            if key == b"path":
                return value.decode("utf-8", "surrogateescape")
    return None


def layer_file_digest(name: str) -> str | None:
    """The diff ID a member's name tells (an OCI layer blob), else None."""
    found = _BLOB.search(name)
    return f"sha256:{found.group(1)}" if found else None


def is_legacy_layer(name: str) -> bool:
    """A ``<v1 id>/layer.tar`` of the classic format: its diff ID is its sha256."""
    return name.endswith("/layer.tar")


def keeps(digest: str, diff_ids: frozenset[str], lacking: frozenset[str]) -> bool:
    """Whether an archive for a host that lacks ``lacking`` carries the member with this digest:
    every member that is not one of the image's layers, and the layers the host lacks."""
    return digest not in diff_ids or digest in lacking


def group_hosts(diff_ids: Sequence[str], present: Mapping[str, int]) -> dict[frozenset[str], list[str]]:
    """Hosts grouped by the layers they lack (host → how many bottom layers it has): one stream per group.

    A diff ID that occurs twice in an image counts as lacking if any of its places is."""
    groups: dict[frozenset[str], list[str]] = {}
    for host in sorted(present):
        groups.setdefault(frozenset(diff_ids[present[host]:]), []).append(host)
    return groups


def _size(field: bytes) -> int:
    if field[0] & 0x80:  # base-256, for members of 8 GiB and more
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    return _octal(field)


def _octal(field: bytes) -> int:
    digits = field.split(b"\0")[0].strip()
    return int(digits, 8) if digits else 0


def _pax_records(data: bytes) -> list[bytes]:
    """``<length> key=value\n`` records."""
    records, at = [], 0
    while at < len(data):
        length, _, _ = data[at:].partition(b" ")
        if not length.isdigit() or int(length) <= 0:
            break
        records.append(data[at + len(length) + 1:at + int(length)].rstrip(b"\n"))
        at += int(length)
    return records
