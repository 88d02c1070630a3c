"""Image archives cut into members, layers left out for hosts that have them, hosts grouped (tables, no Docker)."""

from __future__ import annotations

import asyncio
import io
import tarfile

import pytest

from kob.deploy.image_archive import group_hosts, keeps, layer_file_digest, parse_header
from kob.deploy.image_stream import route_archive
from kob.errors import ObservationError
from kob.facts.image_layers import chain_ids, layers_present, parse_host_layers
from tests.helpers.image_archives import diff_id, layer, layer_files, members, saved

A, B, C = (f"sha256:{c * 64}" for c in "abc")
BASE, MIDDLE, TOP = layer("base", 40000), layer("middle"), layer("top", 500)


def header_of(name: str, size: int, fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    info = tarfile.TarInfo(name)
    info.size = size
    return info.tobuf(format=fmt)


@pytest.mark.parametrize("block, expected", [
    (header_of("d/layer.tar", 12345), ("d/layer.tar", 12345, b"0")),
    (header_of("manifest.json", 0), ("manifest.json", 0, b"0")),
    (header_of("p" * 90 + "/" + "n" * 90, 7), ("p" * 90 + "/" + "n" * 90, 7, b"0")),  # ustar prefix + name
    (header_of("x" * 150, 3, tarfile.PAX_FORMAT)[:512], (None, None, b"x")),  # a pax header comes first
    (header_of("x" * 150, 3, tarfile.GNU_FORMAT)[:512], ("././@LongLink", 151, b"L")),
])
def test_a_tar_header_gives_name_size_and_kind(block, expected):
    header = parse_header(block)
    got = (header.name, header.size, header.kind)
    assert tuple(g if e is not None else None for g, e in zip(got, expected, strict=True)) == expected


@pytest.mark.parametrize("block", [bytes(511), header_of("a", 1)[:148] + b"0000000\0" + header_of("a", 1)[156:]])
def test_a_block_that_is_not_a_tar_header_is_refused_naming_the_manager(block):
    with pytest.raises(ObservationError, match="^manager: docker save"):
        parse_header(block)


@pytest.mark.parametrize("name, digest", [
    (f"blobs/sha256/{'a' * 64}", A),
    (f"{'1' * 64}/layer.tar", None),  # classic: named by a v1 ID, hashed on the way
    ("manifest.json", None),
    (f"blobs/sha256/{'a' * 63}", None),
])
def test_a_layer_blob_is_named_by_its_digest(name, digest):
    assert layer_file_digest(name) == digest


@pytest.mark.parametrize("digest, lacking, kept", [
    (A, {A, B}, True),       # a layer the host lacks
    (A, {B}, False),         # a layer the host has
    (C, {B}, True),          # not one of the image's layers (a config blob)
    (C, set(), True),
])
def test_which_members_an_archive_keeps(digest, lacking, kept):
    assert keeps(digest, frozenset({A, B}), frozenset(lacking)) is kept


@pytest.mark.parametrize("diff_ids, expected", [
    ([], []),
    ([A], [A]),
    # the lab's Docker names these layer folders (checked against its layerdb)
    (["sha256:b2b12f09d998cff516fda43e13dad7224af1c8f86b691bf0db7380f3ebdec503",
      "sha256:d6489cd29de0fe8e7e8bba927ebdac3de5763df5c502d1ee27472933f788bf32"],
     ["sha256:b2b12f09d998cff516fda43e13dad7224af1c8f86b691bf0db7380f3ebdec503",
      "sha256:21a4922681396989f25422d97a12f051033af00d9401002aec2dafe118ef9289"]),
])
def test_chain_ids(diff_ids, expected):
    assert chain_ids(diff_ids) == expected


@pytest.mark.parametrize("host_images, image, present", [
    ([], [A, B, C], 0),
    ([[A]], [A, B, C], 1),
    ([[A, B]], [A, B, C], 2),
    ([[A, B, C]], [A, B, C], 3),
    ([[B, C]], [A, B, C], 0),         # the same diff IDs on another base are other layers
    ([[A], [A, C]], [A, B, C], 1),    # C sits on A there, not on B
    ([[A, B, C, A]], [A, B], 2),
])
def test_how_many_bottom_layers_a_host_has(host_images, image, present):
    listing = "".join(f"sha256:{'9' * 64} {' '.join(layers)}\n" for layers in host_images)
    assert layers_present(image, parse_host_layers("vm1", listing).chains) == present


@pytest.mark.parametrize("listing", ["not a digest", f"sha256:{'a' * 64} sha256:short"])
def test_a_listing_kob_cannot_read_names_the_host(listing):
    with pytest.raises(ObservationError, match="^vm2: "):
        parse_host_layers("vm2", listing)


def test_a_hosts_listing_gives_its_image_ids():
    listing = f"{A} {B}\n{C} {B} {A}\n\n"
    found = parse_host_layers("vm1", listing)
    assert found.image_ids == {A, C} and found.has_image(C) and not found.has_image(B)
    assert found.chains == {B, *chain_ids([B, A])}


@pytest.mark.parametrize("present, groups", [
    ({"vm1": 0, "vm2": 0}, {frozenset({A, B, C}): ["vm1", "vm2"]}),
    ({"vm1": 0, "vm2": 2, "vm3": 2}, {frozenset({A, B, C}): ["vm1"], frozenset({C}): ["vm2", "vm3"]}),
    ({"vm3": 3, "vm1": 1}, {frozenset(): ["vm3"], frozenset({B, C}): ["vm1"]}),  # a new config only
])
def test_hosts_are_grouped_by_the_layers_they_lack(present, groups):
    assert group_hosts([A, B, C], present) == groups


class Collected:
    def __init__(self):
        self.data = b""

    async def write(self, data: bytes) -> None:
        self.data += data


async def routed(archive: bytes, diff_ids: list[str], lacking_sets: list[set[str]]) -> list[Collected]:
    reader = asyncio.StreamReader()
    reader.feed_data(archive)
    reader.feed_eof()
    sinks = {frozenset(lacking): Collected() for lacking in lacking_sets}
    await route_archive(reader.readexactly, diff_ids, sinks)
    return list(sinks.values())


LAYERS = [BASE, MIDDLE, TOP]
IDS = [diff_id(d) for d in LAYERS]


@pytest.mark.parametrize("oci", [False, True])
@pytest.mark.parametrize("lacking, layers_sent", [
    (IDS, LAYERS),
    (IDS[1:], [MIDDLE, TOP]),
    (IDS[2:], [TOP]),
    ([], []),
])
async def test_an_archive_leaves_out_the_layers_a_group_has_and_keeps_the_rest(oci, lacking, layers_sent):
    archive = saved(LAYERS, oci=oci)
    full, partial = await routed(archive, IDS, [IDS, lacking]) if set(lacking) != set(IDS) else (await routed(archive, IDS, [IDS])) * 2
    assert members(full.data) == members(archive)  # a group that lacks all gets every member, byte for byte
    assert sorted(layer_files(partial.data)) == sorted(layers_sent)
    rest = {n: d for n, d in members(partial.data).items() if not (n.endswith("layer.tar") or n.startswith("blobs/"))}
    assert rest == {n: d for n, d in members(archive).items() if not (n.endswith("layer.tar") or n.startswith("blobs/"))}


async def test_long_member_names_travel_with_their_pax_headers():
    archive = saved(LAYERS, long_names=True)
    partial, = await routed(archive, IDS, [IDS[2:]])
    names = members(partial.data)
    assert sorted(layer_files(partial.data)) == [TOP]
    assert all(len(name) > 120 for name in names if "/" in name)


async def test_an_archive_cut_short_ends_in_eof():
    archive = saved(LAYERS)
    with pytest.raises(EOFError):
        await routed(archive[:len(archive) // 2], IDS, [IDS[1:]])


async def test_a_layer_that_occurs_twice_is_kept_when_any_place_of_it_is_lacking():
    layers = [BASE, MIDDLE, BASE]
    ids = [diff_id(d) for d in layers]
    partial, = await routed(saved(layers), ids, [set(ids[1:])])
    assert sorted(layer_files(partial.data)) == sorted([BASE, MIDDLE, BASE])
    bytes_in = io.BytesIO(partial.data)
    assert tarfile.open(fileobj=bytes_in).getnames()[-1] == "manifest.json"
