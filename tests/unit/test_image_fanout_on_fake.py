"""Shipping an image from the manager over the scripted fake: one `docker save`, one gzip stream per group of
hosts that lack the same layers, every host fed at once; a host that fails fails alone."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kob.deploy import images as images_module
from kob.deploy.image_fanout import Fanout
from kob.deploy.images import ship_to_each
from kob.errors import HostUnreachable
from kob.plan.preflight import MANAGER, ImageSource
from kob.spec.inventory import Host, Inventory
from tests.helpers.fake_transport import Reply, ScriptedTransport
from tests.helpers.image_archives import diff_id, layer, layer_files, members, saved

LAYERS = [layer("base", 300_000), layer("middle", 200_000), layer("top", 1000)]
IDS = [diff_id(d) for d in LAYERS]
IMAGE = ImageSource("app:2", f"sha256:{'e' * 64}", MANAGER)
HOSTS = ("vm1", "vm2", "vm3", "vm4")
INVENTORY = Inventory(Path("shop.yaml"), tuple(Host(h, f"198.18.0.1{i}") for i, h in enumerate(HOSTS, 1)))
LISTING = "docker image ls -q"  # the piece of the host layers command the rows answer


@dataclass
class NoImages:
    images: dict = field(default_factory=dict)

    def has_image(self, image_id: str) -> bool:
        return False


@dataclass
class Seen:
    hosts: dict = field(default_factory=lambda: {h: NoImages() for h in HOSTS})


@pytest.fixture
def manager(monkeypatch, tmp_path) -> list[str]:
    """The manager's Docker, played by files: `docker save` is `cat` of an archive; each save is counted."""
    archive = tmp_path / "app.tar"
    archive.write_bytes(saved(LAYERS))
    saves: list[str] = []

    def save_argv(ref: str) -> list[str]:
        saves.append(ref)
        return ["cat", str(archive)]

    monkeypatch.setattr(images_module, "save_argv", save_argv)
    monkeypatch.setattr(images_module, "image_layers_argv", lambda ref: ["echo", IMAGE.image_id, *IDS])
    return saves


def has(*layers: str) -> Reply:
    return Reply(stdout=f"sha256:{'9' * 64} {' '.join(layers)}\n" if layers else "")


async def test_one_save_fans_out_to_every_host_each_without_the_layers_it_has(manager):
    fake = ScriptedTransport([("vm1", LISTING, has()), ("vm2", LISTING, has(IDS[0])), ("vm3", LISTING, has()),
                              ("vm4", LISTING, has(*IDS[:2]))])
    said: list[str] = []
    shipment = await ship_to_each(fake, INVENTORY, Seen(), {h: [IMAGE] for h in HOSTS}, said.append)
    loads = {s.host: s.input for s in fake.sent if s.command == "docker load -q"}
    assert manager == ["app:2"]  # read once
    assert sorted(loads) == list(HOSTS) and shipment.failed == {}
    assert loads["vm1"] == loads["vm3"]  # one group, one gzip stream
    assert [sorted(layer_files(loads[h])) for h in HOSTS] == [sorted(LAYERS), sorted(LAYERS[1:]), sorted(LAYERS),
                                                              LAYERS[2:]]
    assert all(members(loads[h])["manifest.json"] == members(saved(LAYERS))["manifest.json"] for h in HOSTS)
    assert shipment.sent == {h: len(loads[h]) for h in HOSTS}
    assert shipment.sent["vm4"] < shipment.sent["vm2"] < shipment.sent["vm1"]
    assert "  image app:2: manager → vm4 ..." in said
    assert [line for line in said if line.startswith("  image app:2: manager → vm4: ")][0].endswith(
        ", it had 2 of 3 layers")


async def test_a_host_whose_load_fails_fails_alone_in_one_line_with_dockers_reason(manager):
    fake = ScriptedTransport([(h, LISTING, has()) for h in HOSTS] + [
        ("vm2", "docker load", Reply(rc=1, stderr="Error processing tar file(exit status 1): no space left on device\n")),
        ("vm3", "docker load", HostUnreachable("vm3", "connection lost while streaming: reset by peer"))])
    said: list[str] = []
    shipment = await ship_to_each(fake, INVENTORY, Seen(), {h: [IMAGE] for h in HOSTS}, said.append)
    assert sorted(shipment.sent) == ["vm1", "vm4"]
    assert shipment.failed == {
        "vm2": "vm2: docker load failed: Error processing tar file(exit status 1): no space left on device",
        "vm3": "vm3: connection lost while streaming: reset by peer"}
    assert "! image app:2 not sent to vm2: docker load failed: Error processing tar file(exit status 1): no space " \
           "left on device" in said


class StopsReading(ScriptedTransport):
    """vm2 takes one chunk, stalls until the writer waits for it (its queue full), then drops its connection;
    the others read to the end."""

    async def feed(self, sink, sink_argv, chunks, progress=None):
        if sink.name == "vm2":
            async for _ in chunks:
                for _ in range(500):  # the writer fills vm2's queue and waits there
                    await asyncio.sleep(0)
                raise HostUnreachable("vm2", "connection lost while streaming: broken pipe")
        return await super().feed(sink, sink_argv, chunks, progress)


async def test_a_host_that_stops_reading_does_not_hold_up_the_others(manager, monkeypatch):
    monkeypatch.setattr(images_module, "GzipFanout", small_chunks(images_module.GzipFanout))
    fake = StopsReading([(h, LISTING, has()) for h in HOSTS])
    shipment = await asyncio.wait_for(  # a bound against a hang, not a timing assertion
        ship_to_each(fake, INVENTORY, Seen(), {h: [IMAGE] for h in HOSTS}, lambda line: None), 60)
    assert sorted(shipment.sent) == ["vm1", "vm3", "vm4"] and list(shipment.failed) == ["vm2"]
    assert sorted(layer_files(next(s.input for s in fake.sent if s.host == "vm4" and "load" in s.argv))) == sorted(LAYERS)


async def test_a_failed_save_ends_every_hosts_stream_with_its_reason(manager, monkeypatch):
    monkeypatch.setattr(images_module, "save_argv", lambda ref: ["sh", "-c", "echo 'no such image: app:2' >&2; exit 1"])
    fake = ScriptedTransport([(h, LISTING, has()) for h in HOSTS])
    shipment = await ship_to_each(fake, INVENTORY, Seen(), {h: [IMAGE] for h in HOSTS}, lambda line: None)
    assert shipment.sent == {}
    assert shipment.failed == {h: f"{h}: manager: docker save app:2 failed: no such image: app:2" for h in HOSTS}


async def test_the_writer_waits_for_the_slowest_reader_and_never_holds_more_than_the_depth():
    fanout = Fanout(["fast", "slow"], depth=2)
    got: dict[str, list[bytes]] = {"fast": [], "slow": []}
    slow_may_read = asyncio.Event()

    async def read(host: str) -> None:
        async for chunk in fanout.chunks(host):
            if host == "slow":
                await slow_may_read.wait()
            got[host].append(chunk)

    readers = [asyncio.create_task(read(h)) for h in ("fast", "slow")]
    writer = asyncio.create_task(write_all(fanout, 10))
    for _ in range(50):
        await asyncio.sleep(0)
    assert not writer.done() and len(got["fast"]) <= 4 and fanout.queues["slow"].qsize() <= 2
    slow_may_read.set()
    await asyncio.gather(writer, *readers)
    assert got["fast"] == got["slow"] == [bytes([i]) for i in range(10)]


async def write_all(fanout: Fanout, count: int) -> None:
    for i in range(count):
        await fanout.write(bytes([i]))
    await fanout.close()


def small_chunks(cls):
    """GzipFanout compressing every 4 KiB, so a stream has many chunks."""
    class Small(cls):
        async def write(self, data: bytes) -> None:
            await super().write(data)
            if len(self._pending) >= 4096:
                block, self._pending = bytes(self._pending), bytearray()
                await self.fanout.write(self._zip.compress(block) + self._zip.flush(2))  # Z_SYNC_FLUSH
    return Small
